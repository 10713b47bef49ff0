-- A refund or chargeback takes back money that has already left through the rail, so it may take a wallet below
-- zero (the wallet then pays for nothing until a top-up brings it back). The account row no longer refuses a
-- negative balance; the transfer that leaves one does, unless it is such a take-back.
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_only_take_backs_overdraw
    CHECK (debit_balance_after IS NULL OR debit_balance_after >= 0 OR kind IN ('refund', 'chargeback'));
