-- Deposits and the scheduler's state. Instants are integer milliseconds since the Unix epoch.

-- One derivation index per agent for every EVM chain, so an agent's address is the same on each chain that
-- shares an xpub, and a transfer sent on the wrong chain still reaches the right wallet.
CREATE TABLE agent_derivation_indexes (
    agent_id         INTEGER PRIMARY KEY REFERENCES agents (id),
    derivation_index INTEGER NOT NULL UNIQUE CHECK (derivation_index >= 0),
    created_at       INTEGER NOT NULL
);

-- Every address a rail watches, and whose wallet it fills. Addresses are lower-case.
CREATE TABLE deposit_addresses (
    id               INTEGER PRIMARY KEY,
    rail             TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    agent_id         INTEGER NOT NULL REFERENCES agents (id),
    derivation_index INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (rail, address),
    UNIQUE (rail, agent_id)
);

CREATE TABLE deposits (
    id                     INTEGER PRIMARY KEY,
    rail                   TEXT    NOT NULL,
    agent_id               INTEGER REFERENCES agents (id),
    state                  TEXT    NOT NULL,
    -- What the agent said it would send (pending), then what arrived, in micros.
    requested_amount       INTEGER,
    amount                 INTEGER,
    -- The rail's own name for the payment: "<tx hash>:<log index>" on EVM chains.
    external_id            TEXT,
    tx_hash                TEXT,
    log_index              INTEGER,
    address                TEXT,
    token                  TEXT,
    -- The token's atomic units as a decimal string (uint256 does not fit 64 bits).
    token_amount           TEXT,
    block_number           INTEGER,
    block_hash             TEXT,
    confirmations          INTEGER NOT NULL DEFAULT 0,
    confirmations_required INTEGER NOT NULL DEFAULT 0,
    ledger_key             TEXT,
    expires_at             INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_deposits_external ON deposits (rail, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX ix_deposits_agent ON deposits (agent_id, id);
CREATE INDEX ix_deposits_open ON deposits (rail, state) WHERE state IN ('pending', 'detected', 'confirming', 'reorged');

CREATE TABLE deposit_transitions (
    id            INTEGER PRIMARY KEY,
    deposit_id    INTEGER NOT NULL REFERENCES deposits (id),
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    confirmations INTEGER NOT NULL,
    -- JSON: tx hash, block number and hash, what was compared, who did it.
    evidence      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ix_deposit_transitions_deposit ON deposit_transitions (deposit_id, id);

-- Where each watcher goes on: the next block to scan, and the head it last saw.
CREATE TABLE rail_cursors (
    rail       TEXT    PRIMARY KEY,
    position   TEXT    NOT NULL,
    head       INTEGER,
    updated_at INTEGER NOT NULL
);

-- Which instance runs each watcher: held while renewed, taken over once expired.
CREATE TABLE job_leases (
    job         TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE job_runs (
    id         INTEGER PRIMARY KEY,
    job        TEXT    NOT NULL,
    instance   TEXT    NOT NULL,
    attempt    INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    outcome    TEXT    NOT NULL,
    error      TEXT,
    summary    TEXT
);
CREATE INDEX ix_job_runs_job ON job_runs (job, id);
