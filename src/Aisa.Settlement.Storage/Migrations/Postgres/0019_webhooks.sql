-- Outgoing webhooks: where an owner (an agent, 'agent:<id>') wants its events, and every delivery with its attempts.
-- The secret signs each delivery (HMAC-SHA256); it is shown once when the URL is set and never again.

CREATE TABLE webhook_endpoints (
    owner      text   PRIMARY KEY,
    url        text   NOT NULL,
    secret     text   NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner           text    NOT NULL,
    -- One delivery per event: 'budget.approaching:d:2026-12-04', 'approval.waiting:apr_…'.
    event_key       text    NOT NULL,
    event_type      text    NOT NULL,
    payload         text    NOT NULL,
    -- pending (an attempt is due), delivered, failed (no attempt left)
    state           text    NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    next_attempt_at bigint,
    delivered_at    bigint
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (owner, event_key);
CREATE INDEX webhook_deliveries_by_owner ON webhook_deliveries (owner, id);
