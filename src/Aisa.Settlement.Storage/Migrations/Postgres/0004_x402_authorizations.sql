-- Every x402 authorization (payer, nonce) this service accepted, so the same signed payment never pays twice,
-- across instances: claimed before settlement, released if settlement fails, settled with its transaction.
CREATE TABLE x402_authorizations (
    network     text NOT NULL,
    payer       text NOT NULL,
    nonce       text NOT NULL,
    agent_id    bigint REFERENCES agents (id),
    amount      bigint NOT NULL,
    state       text NOT NULL,
    tx_hash     text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (network, payer, nonce)
);
