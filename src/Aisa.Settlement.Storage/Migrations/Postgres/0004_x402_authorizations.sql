-- Every x402 authorization (payer, nonce) this service accepted, so the same signed payment never pays twice,
-- across instances: claimed before settlement, released if settlement fails, settled with its transaction. A claim
-- whose settlement answer was lost stays 'settling' until the reconciler reads the chain.
CREATE TABLE x402_authorizations (
    network     text NOT NULL,
    payer       text NOT NULL,
    nonce       text NOT NULL,
    -- The agent topping up; null for one request paid without an account.
    agent_id    bigint REFERENCES agents (id),
    asset       text NOT NULL,
    -- The authorization's value in the asset's units, and the end of its validity (unix seconds).
    value       text NOT NULL,
    valid_before bigint NOT NULL,
    amount      bigint NOT NULL,
    state       text NOT NULL,
    tx_hash     text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (network, payer, nonce)
);
