-- Outgoing webhooks: where an owner (an agent, 'agent:<id>') wants its events, and every delivery with its attempts.
-- The secret signs each delivery (HMAC-SHA256); it is shown once when the URL is set and never again.

CREATE TABLE webhook_endpoints (
    owner      TEXT   PRIMARY KEY,
    url        TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    owner           TEXT    NOT NULL,
    -- One delivery per event: 'budget.approaching:d:2026-12-04', 'approval.waiting:apr_…'.
    event_key       TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- pending (an attempt is due), delivered, failed (no attempt left)
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER  NOT NULL,
    updated_at      INTEGER  NOT NULL,
    next_attempt_at INTEGER,
    delivered_at    INTEGER
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (owner, event_key);
CREATE INDEX webhook_deliveries_by_owner ON webhook_deliveries (owner, id);
