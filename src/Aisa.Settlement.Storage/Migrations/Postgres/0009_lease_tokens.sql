-- Every taking of a lease draws a new token. The holder renews the lease while its pass runs, and the write that moves
-- a watcher's cursor names the token: a pass that lost its lease (it outlived it, and another pass took it) can no
-- longer move the cursor, so a cursor never moves backwards and two passes never both advance it.
ALTER TABLE job_leases ADD COLUMN token bigint NOT NULL DEFAULT 0;
