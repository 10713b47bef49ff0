-- Agents (crawlers), publishers, sessions, pricing rules, time passes and stored idempotent responses.
-- Instants are integer milliseconds since the Unix epoch, so SQLite and PostgreSQL compare them alike.
CREATE TABLE agents (
    id                INTEGER PRIMARY KEY,
    crawler_uuid      TEXT    NOT NULL UNIQUE,
    email             TEXT    NOT NULL UNIQUE,
    password_hash     TEXT    NOT NULL,
    name              TEXT,
    crawler_type      TEXT,
    user_agent        TEXT,
    company_name      TEXT,
    wallet_account_id INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    -- SHA-256 of the crawler token: the token itself is shown once and never stored.
    token_hash        TEXT    NOT NULL UNIQUE,
    disabled          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);

CREATE TABLE publishers (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE,
    password_hash      TEXT    NOT NULL,
    name               TEXT,
    domain             TEXT    NOT NULL UNIQUE,
    payable_account_id INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    created_at         INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    subject_kind TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE pricing_rules (
    id           INTEGER PRIMARY KEY,
    publisher_id INTEGER NOT NULL REFERENCES publishers (id),
    url_pattern  TEXT    NOT NULL,
    access_mode  TEXT    NOT NULL,
    price        INTEGER NOT NULL CHECK (price >= 0),
    billing_type TEXT    NOT NULL,
    crawler_type TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
);
CREATE INDEX ix_pricing_rules_publisher ON pricing_rules (publisher_id) WHERE deleted_at IS NULL;

-- Hourly passes: pass n of an agent for a rule was paid by the ledger transfer pass:hour:<agent>:<rule>:<n>.
CREATE TABLE time_passes (
    agent_id   INTEGER NOT NULL REFERENCES agents (id),
    rule_id    INTEGER NOT NULL REFERENCES pricing_rules (id),
    seq        INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, rule_id, seq)
);

CREATE TABLE idempotent_requests (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status_code  INTEGER,
    headers      TEXT,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER,
    PRIMARY KEY (scope, key)
);
