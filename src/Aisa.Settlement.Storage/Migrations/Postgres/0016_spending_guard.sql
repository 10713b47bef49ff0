-- The spending guard: what each wallet spent on charges this UTC day and calendar month, each crawler's policy, and the
-- charges waiting for its owner.

-- What each wallet spent on charges in the current UTC day and calendar month, beside its balance: the ledger moves
-- them in the same update, under the same row lock, and a writer that waited for the lock reads them as it reads the
-- balance (a separate table would be read from the snapshot taken before the wait).
ALTER TABLE accounts ADD COLUMN spending_day text;
ALTER TABLE accounts ADD COLUMN spent_day bigint NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN spending_month text;
ALTER TABLE accounts ADD COLUMN spent_month bigint NOT NULL DEFAULT 0;

-- JSON; null: no policy. Read with the agent in the query that finds it by its token, so verify pays no extra trip.
ALTER TABLE agents ADD COLUMN guard_policy text;

CREATE TABLE approvals (
    id           text   PRIMARY KEY,
    agent_id     bigint NOT NULL REFERENCES agents (id),
    publisher_id bigint NOT NULL REFERENCES publishers (id),
    resource     text   NOT NULL,
    price        bigint NOT NULL CHECK (price > 0),
    -- pending, approved, declined, used, expired
    state        text   NOT NULL,
    created_at   bigint NOT NULL,
    decided_at   bigint,
    used_at      bigint,
    transfer_key text
);

-- One open approval per crawler, publisher, resource and price: verifies racing for it share it.
CREATE UNIQUE INDEX approvals_one_open ON approvals (agent_id, publisher_id, resource, price) WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_by_agent ON approvals (agent_id, created_at);
