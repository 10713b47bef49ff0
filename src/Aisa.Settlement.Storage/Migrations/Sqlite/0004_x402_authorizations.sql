-- Every x402 authorization (payer, nonce) this service accepted, so the same signed payment never pays twice,
-- across instances: claimed before settlement, released if settlement fails, settled with its transaction. A claim
-- whose settlement answer was lost stays 'settling' until the reconciler reads the chain.
CREATE TABLE x402_authorizations (
    network     TEXT NOT NULL,
    payer       TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    -- The agent topping up; null for one request paid without an account.
    agent_id    INTEGER REFERENCES agents (id),
    asset       TEXT NOT NULL,
    -- The authorization's value in the asset's units, and the end of its validity (unix seconds).
    value       TEXT NOT NULL,
    valid_before INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    tx_hash     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (network, payer, nonce)
);
