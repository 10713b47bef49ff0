-- The spending guard: what each wallet spent on charges this UTC day and calendar month, each crawler's policy, and the
-- charges waiting for its owner.

-- What each wallet spent on charges in the current UTC day and calendar month, beside its balance: the ledger moves
-- them in the same update, under the same row lock, and a writer that waited for the lock reads them as it reads the
-- balance (a separate table would be read from the snapshot taken before the wait).
ALTER TABLE accounts ADD COLUMN spending_day TEXT;
ALTER TABLE accounts ADD COLUMN spent_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN spending_month TEXT;
ALTER TABLE accounts ADD COLUMN spent_month INTEGER NOT NULL DEFAULT 0;

-- JSON; null: no policy. Read with the agent in the query that finds it by its token, so verify pays no extra trip.
ALTER TABLE agents ADD COLUMN guard_policy TEXT;

CREATE TABLE approvals (
    id           TEXT   PRIMARY KEY,
    agent_id     INTEGER NOT NULL REFERENCES agents (id),
    publisher_id INTEGER NOT NULL REFERENCES publishers (id),
    resource     TEXT   NOT NULL,
    price        INTEGER NOT NULL CHECK (price > 0),
    -- pending, approved, declined, used, expired
    state        TEXT   NOT NULL,
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    used_at      INTEGER,
    transfer_key TEXT
);

-- One open approval per crawler, publisher, resource and price: verifies racing for it share it.
CREATE UNIQUE INDEX approvals_one_open ON approvals (agent_id, publisher_id, resource, price) WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_by_agent ON approvals (agent_id, created_at);
