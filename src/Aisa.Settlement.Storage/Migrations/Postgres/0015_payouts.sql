-- Publisher payouts. Money moves only in the ledger (payable → payouts:<rail> → clearing:<rail>, or back), keyed by
-- the payout; these tables say where each payout stands and what its rail needs never to pay twice.

-- The rail each publisher is paid on, where, and the smallest payout it wants.
CREATE TABLE payout_settings (
    publisher_id   bigint PRIMARY KEY REFERENCES publishers (id),
    rail           text NOT NULL,
    destination    text NOT NULL,
    minimum_amount bigint NOT NULL CHECK (minimum_amount > 0),
    updated_at     bigint NOT NULL
);

CREATE TABLE payouts (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    publisher_id           bigint NOT NULL REFERENCES publishers (id),
    rail                   text NOT NULL,
    destination            text NOT NULL,
    amount                 bigint NOT NULL CHECK (amount > 0),
    state                  text NOT NULL,
    -- The rail's own record of what it sends (a signed transaction and its nonce, a payment hash), stored before it
    -- is sent: after a crash the payout is resumed from it, never prepared afresh.
    prepared               text,
    -- The rail's name of the payment: a transaction hash, a signature, a payment hash, a transfer id.
    reference              text,
    confirmations          bigint NOT NULL DEFAULT 0,
    confirmations_required bigint NOT NULL DEFAULT 0,
    -- JSON: what was last learned about it.
    evidence               text NOT NULL,
    created_at             bigint NOT NULL,
    updated_at             bigint NOT NULL
);
-- At most one payout of a publisher's money in flight: a second payout run, on any instance, cannot move it again.
CREATE UNIQUE INDEX ux_payouts_open_publisher ON payouts (publisher_id) WHERE state IN ('requested', 'awaiting_approval', 'submitted', 'failed');
CREATE INDEX ix_payouts_publisher ON payouts (publisher_id, id);
CREATE INDEX ix_payouts_open_rail ON payouts (rail, id) WHERE state IN ('requested', 'awaiting_approval', 'submitted', 'failed');

CREATE TABLE payout_transitions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id  bigint NOT NULL REFERENCES payouts (id),
    from_state text,
    to_state   text NOT NULL,
    -- JSON: what the rail answered, who approved or cancelled.
    evidence   text NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX ix_payout_transitions_payout ON payout_transitions (payout_id, id);
