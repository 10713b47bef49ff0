-- Hangfire is the job engine now: it keeps every run (in memory on SQLite, for one instance) and lists the instances
-- (its servers). What it lacks is kept here, one row per recurring job: the operator's pause and requested run, where
-- the last pass stands, and the last successful pass's summary (the head a watcher saw, blocks, logs, RPC calls), which
-- readiness, the metrics, the overview and the Confirmations page read.
CREATE TABLE job_states (
    job               TEXT    PRIMARY KEY,
    paused            INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    run_requested_at  INTEGER,
    last_started_at   INTEGER,
    last_ended_at     INTEGER,
    -- running, succeeded or failed
    last_outcome      TEXT,
    last_instance     TEXT,
    last_error        TEXT,
    last_success_at   INTEGER,
    last_summary      TEXT,
    failures_in_a_row INTEGER NOT NULL DEFAULT 0,
    changed_at        INTEGER NOT NULL
);

-- Failed passes per job and hour (the start of the hour, in milliseconds), for "failures in the last 24 h".
CREATE TABLE job_failure_hours (
    job      TEXT    NOT NULL,
    hour     INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    PRIMARY KEY (job, hour)
);

INSERT INTO job_states (job, paused, run_requested_at, changed_at)
SELECT job, paused, run_requested_at, changed_at FROM job_controls;

INSERT INTO job_states (job, last_success_at, last_summary, changed_at)
SELECT job, ended_at, summary, ended_at FROM job_runs
WHERE id IN (SELECT MAX(id) FROM job_runs WHERE outcome = 'succeeded' GROUP BY job)
ON CONFLICT (job) DO UPDATE SET last_success_at = excluded.last_success_at, last_summary = excluded.last_summary;

DROP TABLE job_runs;
DROP TABLE job_controls;
DROP TABLE service_instances;

-- The Confirmations page lists open deposits and those that moved lately.
CREATE INDEX ix_deposits_updated ON deposits (updated_at);
