-- Publisher payouts. Money moves only in the ledger (payable → payouts:<rail> → clearing:<rail>, or back), keyed by
-- the payout; these tables say where each payout stands and what its rail needs never to pay twice.

-- The rail each publisher is paid on, where, and the smallest payout it wants.
CREATE TABLE payout_settings (
    publisher_id   INTEGER PRIMARY KEY REFERENCES publishers (id),
    rail           TEXT NOT NULL,
    destination    TEXT NOT NULL,
    minimum_amount INTEGER NOT NULL CHECK (minimum_amount > 0),
    updated_at     INTEGER NOT NULL
);

CREATE TABLE payouts (
    id                     INTEGER PRIMARY KEY,
    publisher_id           INTEGER NOT NULL REFERENCES publishers (id),
    rail                   TEXT NOT NULL,
    destination            TEXT NOT NULL,
    amount                 INTEGER NOT NULL CHECK (amount > 0),
    state                  TEXT NOT NULL,
    -- The rail's own record of what it sends (a signed transaction and its nonce, a payment hash), stored before it
    -- is sent: after a crash the payout is resumed from it, never prepared afresh.
    prepared               TEXT,
    -- The rail's name of the payment: a transaction hash, a signature, a payment hash, a transfer id.
    reference              TEXT,
    confirmations          INTEGER NOT NULL DEFAULT 0,
    confirmations_required INTEGER NOT NULL DEFAULT 0,
    -- JSON: what was last learned about it.
    evidence               TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
-- At most one payout of a publisher's money in flight: a second payout run, on any instance, cannot move it again.
CREATE UNIQUE INDEX ux_payouts_open_publisher ON payouts (publisher_id) WHERE state IN ('requested', 'awaiting_approval', 'submitted', 'failed');
CREATE INDEX ix_payouts_publisher ON payouts (publisher_id, id);
CREATE INDEX ix_payouts_open_rail ON payouts (rail, id) WHERE state IN ('requested', 'awaiting_approval', 'submitted', 'failed');

CREATE TABLE payout_transitions (
    id         INTEGER PRIMARY KEY,
    payout_id  INTEGER NOT NULL REFERENCES payouts (id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    -- JSON: what the rail answered, who approved or cancelled.
    evidence   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ix_payout_transitions_payout ON payout_transitions (payout_id, id);
