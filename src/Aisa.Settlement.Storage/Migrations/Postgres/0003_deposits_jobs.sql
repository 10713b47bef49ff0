-- Deposits and the scheduler's state. Instants are integer milliseconds since the Unix epoch.

-- One derivation index per agent for every EVM chain, so an agent's address is the same on each chain that
-- shares an xpub, and a transfer sent on the wrong chain still reaches the right wallet.
CREATE TABLE agent_derivation_indexes (
    agent_id         bigint PRIMARY KEY REFERENCES agents (id),
    derivation_index bigint  NOT NULL UNIQUE CHECK (derivation_index >= 0),
    created_at       bigint  NOT NULL
);

-- Every address a rail watches, and whose wallet it fills. Addresses are lower-case.
CREATE TABLE deposit_addresses (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rail             text    NOT NULL,
    address          text    NOT NULL,
    agent_id         bigint  NOT NULL REFERENCES agents (id),
    derivation_index bigint  NOT NULL,
    created_at       bigint  NOT NULL,
    UNIQUE (rail, address),
    UNIQUE (rail, agent_id)
);

CREATE TABLE deposits (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rail                   text    NOT NULL,
    agent_id               bigint  REFERENCES agents (id),
    state                  text    NOT NULL,
    -- What the agent said it would send (pending), then what arrived, in micros.
    requested_amount       bigint,
    amount                 bigint,
    -- The rail's own name for the payment: "<tx hash>:<log index>" on EVM chains.
    external_id            text,
    tx_hash                text,
    log_index              bigint,
    address                text,
    token                  text,
    -- The token's atomic units as a decimal string (uint256 does not fit 64 bits).
    token_amount           text,
    block_number           bigint,
    block_hash             text,
    confirmations          bigint  NOT NULL DEFAULT 0,
    confirmations_required bigint  NOT NULL DEFAULT 0,
    ledger_key             text,
    expires_at             bigint,
    created_at             bigint  NOT NULL,
    updated_at             bigint  NOT NULL
);
CREATE UNIQUE INDEX ux_deposits_external ON deposits (rail, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX ix_deposits_agent ON deposits (agent_id, id);
CREATE INDEX ix_deposits_open ON deposits (rail, state) WHERE state IN ('pending', 'detected', 'confirming', 'reorged');

CREATE TABLE deposit_transitions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deposit_id    bigint  NOT NULL REFERENCES deposits (id),
    from_state    text,
    to_state      text    NOT NULL,
    confirmations bigint  NOT NULL,
    -- JSON: tx hash, block number and hash, what was compared, who did it.
    evidence      text    NOT NULL,
    created_at    bigint  NOT NULL
);
CREATE INDEX ix_deposit_transitions_deposit ON deposit_transitions (deposit_id, id);

-- Where each watcher goes on: the next block to scan, and the head it last saw.
CREATE TABLE rail_cursors (
    rail       text    PRIMARY KEY,
    position   text    NOT NULL,
    head       bigint,
    updated_at bigint  NOT NULL
);

-- Which instance runs each watcher: held while renewed, taken over once expired.
CREATE TABLE job_leases (
    job         text    PRIMARY KEY,
    owner       text    NOT NULL,
    acquired_at bigint  NOT NULL,
    expires_at  bigint  NOT NULL
);

CREATE TABLE job_runs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job        text    NOT NULL,
    instance   text    NOT NULL,
    attempt    bigint  NOT NULL,
    started_at bigint  NOT NULL,
    ended_at   bigint,
    outcome    text    NOT NULL,
    error      text,
    summary    text
);
CREATE INDEX ix_job_runs_job ON job_runs (job, id);
