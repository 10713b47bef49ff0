-- An x402 claim is closed as 'mismatched' when the chain shows its authorization moved something other than the claim
-- (another amount, to someone else): nothing is credited for it, and the evidence (what the transaction moved) is kept.
ALTER TABLE x402_authorizations ADD COLUMN evidence text;
