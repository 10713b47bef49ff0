-- Every x402 authorization (payer, nonce) this service accepted, so the same signed payment never pays twice,
-- across instances: claimed before settlement, released if settlement fails, settled with its transaction.
CREATE TABLE x402_authorizations (
    network     TEXT NOT NULL,
    payer       TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    agent_id    INTEGER REFERENCES agents (id),
    amount      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    tx_hash     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (network, payer, nonce)
);
