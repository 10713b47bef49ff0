-- The double-entry ledger. Amounts are integer micros of USD.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    constrained INTEGER NOT NULL CHECK (constrained IN (0, 1)),
    -- Kept only for balance-constrained accounts (agent wallets); the others derive theirs from transfers.
    balance     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    CHECK (constrained = 0 OR balance >= 0),
    CHECK (constrained = 1 OR balance = 0)
);

CREATE TABLE transfers (
    id                   INTEGER PRIMARY KEY,
    -- The unique index on this key is what makes every credit exactly-once.
    idempotency_key      TEXT    NOT NULL UNIQUE,
    debit_account_id     INTEGER NOT NULL REFERENCES accounts (id),
    credit_account_id    INTEGER NOT NULL REFERENCES accounts (id),
    amount               INTEGER NOT NULL CHECK (amount > 0),
    kind                 TEXT    NOT NULL,
    reference            TEXT,
    debit_balance_after  INTEGER,
    credit_balance_after INTEGER,
    created_at           TEXT    NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
);

CREATE INDEX ix_transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX ix_transfers_credit ON transfers (credit_account_id, id);

-- Transfers are immutable: a correction is a new transfer.
CREATE TRIGGER transfers_are_immutable_update BEFORE UPDATE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
END;
CREATE TRIGGER transfers_are_immutable_delete BEFORE DELETE ON transfers
BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
END;
