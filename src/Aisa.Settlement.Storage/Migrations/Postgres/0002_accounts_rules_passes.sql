-- Agents (crawlers), publishers, sessions, pricing rules, time passes and stored idempotent responses.
-- Instants are integer milliseconds since the Unix epoch, so SQLite and PostgreSQL compare them alike.
CREATE TABLE agents (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    crawler_uuid      text    NOT NULL UNIQUE,
    email             text    NOT NULL UNIQUE,
    password_hash     text    NOT NULL,
    name              text,
    crawler_type      text,
    user_agent        text,
    company_name      text,
    wallet_account_id bigint  NOT NULL UNIQUE REFERENCES accounts (id),
    -- SHA-256 of the crawler token: the token itself is shown once and never stored.
    token_hash        text    NOT NULL UNIQUE,
    disabled          boolean NOT NULL DEFAULT false,
    created_at        bigint  NOT NULL
);

CREATE TABLE publishers (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email              text   NOT NULL UNIQUE,
    password_hash      text   NOT NULL,
    name               text,
    domain             text   NOT NULL UNIQUE,
    payable_account_id bigint NOT NULL UNIQUE REFERENCES accounts (id),
    created_at         bigint NOT NULL
);

CREATE TABLE sessions (
    token_hash   text   PRIMARY KEY,
    subject_kind text   NOT NULL,
    subject_id   bigint NOT NULL,
    expires_at   bigint NOT NULL,
    created_at   bigint NOT NULL
);

CREATE TABLE pricing_rules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    publisher_id bigint NOT NULL REFERENCES publishers (id),
    url_pattern  text   NOT NULL,
    access_mode  text   NOT NULL,
    price        bigint NOT NULL CHECK (price >= 0),
    billing_type text   NOT NULL,
    crawler_type text,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL,
    deleted_at   bigint
);
CREATE INDEX ix_pricing_rules_publisher ON pricing_rules (publisher_id) WHERE deleted_at IS NULL;

-- Hourly passes: pass n of an agent for a rule was paid by the ledger transfer pass:hour:<agent>:<rule>:<n>.
CREATE TABLE time_passes (
    agent_id   bigint NOT NULL REFERENCES agents (id),
    rule_id    bigint NOT NULL REFERENCES pricing_rules (id),
    seq        bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (agent_id, rule_id, seq)
);

CREATE TABLE idempotent_requests (
    scope        text   NOT NULL,
    key          text   NOT NULL,
    request_hash text   NOT NULL,
    status_code  integer,
    headers      text,
    body         bytea,
    created_at   bigint NOT NULL,
    completed_at bigint,
    PRIMARY KEY (scope, key)
);
