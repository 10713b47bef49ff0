-- A refund or chargeback takes back money that has already left through the rail, so it may take a wallet below
-- zero (the wallet then pays for nothing until a top-up brings it back). The account row no longer refuses a
-- negative balance; the transfer that leaves one does, unless it is such a take-back.
-- SQLite cannot drop a CHECK: the table is rebuilt as its documentation prescribes (foreign keys are off while
-- migrations run, and checked before they commit).
CREATE TABLE accounts_rebuilt (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    constrained INTEGER NOT NULL CHECK (constrained IN (0, 1)),
    -- Kept only for balance-constrained accounts (agent wallets); the others derive theirs from transfers.
    balance     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    CHECK (constrained = 1 OR balance = 0)
);
INSERT INTO accounts_rebuilt (id, code, kind, constrained, balance, created_at)
    SELECT id, code, kind, constrained, balance, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;

CREATE TRIGGER transfers_only_take_backs_overdraw BEFORE INSERT ON transfers
WHEN NEW.debit_balance_after < 0 AND NEW.kind NOT IN ('refund', 'chargeback')
BEGIN
    SELECT RAISE(ABORT, 'only a refund or chargeback may take a wallet below zero');
END;
