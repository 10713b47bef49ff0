-- An EVM payment is named by its transaction and its place among that transaction's logs (log_position), which stay the
-- same when a reorganisation mines the transaction again in another block; its block-wide log index does not. Deposits
-- recorded before this were named by the log index and have no position: the watcher adopts such a deposit under the
-- new name when it sees its payment again, before any credit, so an upgrade never credits a payment twice.
ALTER TABLE deposits ADD COLUMN log_position bigint;
CREATE INDEX ix_deposits_transaction ON deposits (rail, tx_hash) WHERE tx_hash IS NOT NULL;
