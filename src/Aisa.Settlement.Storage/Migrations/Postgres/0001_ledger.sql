-- The double-entry ledger. Amounts are integer micros of USD.
CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text        NOT NULL UNIQUE,
    kind        text        NOT NULL,
    constrained boolean     NOT NULL,
    -- Kept only for balance-constrained accounts (agent wallets); the others derive theirs from transfers.
    balance     bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    CHECK (NOT constrained OR balance >= 0),
    CHECK (constrained OR balance = 0)
);

CREATE TABLE transfers (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The unique index on this key is what makes every credit exactly-once.
    idempotency_key      text        NOT NULL UNIQUE,
    debit_account_id     bigint      NOT NULL REFERENCES accounts (id),
    credit_account_id    bigint      NOT NULL REFERENCES accounts (id),
    amount               bigint      NOT NULL CHECK (amount > 0),
    kind                 text        NOT NULL,
    reference            text,
    debit_balance_after  bigint,
    credit_balance_after bigint,
    created_at           timestamptz NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
);

CREATE INDEX ix_transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX ix_transfers_credit ON transfers (credit_account_id, id);

-- Transfers are immutable: a correction is a new transfer.
CREATE FUNCTION transfers_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfers are immutable';
END;
$$;
CREATE TRIGGER transfers_are_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_are_immutable();
CREATE TRIGGER transfers_are_not_truncated BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION transfers_are_immutable();
