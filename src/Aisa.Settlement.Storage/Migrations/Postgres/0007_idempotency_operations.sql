-- What a keyed request moves is named by an operation id of its own, drawn when the key is first claimed and kept
-- while the key is remembered (24 h): a retry, or a takeover of a claim whose request died, moves money under the
-- same id, and a request after the retention is a new operation with a new id. Before this, the id derived from the
-- key alone, so a key reused after the retention was answered from the old transfer and moved nothing.
-- Rows written before this keep operation_id NULL: their id is the old derivation, so their retries stay safe.
ALTER TABLE idempotent_requests ADD COLUMN operation_id text;
-- When the request that owns the claim started; 0 once it gave the claim back (a 5xx, a failure) for a retry to take.
ALTER TABLE idempotent_requests ADD COLUMN claimed_at bigint;
CREATE INDEX ix_idempotent_requests_created ON idempotent_requests (created_at);
