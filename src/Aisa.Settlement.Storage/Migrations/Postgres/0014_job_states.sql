-- Hangfire is the job engine now: it keeps every run (in its own schema, with its retention) and lists the instances
-- (its servers). What it lacks is kept here, one row per recurring job: the operator's pause and requested run, where
-- the last pass stands, and the last successful pass's summary (the head a watcher saw, blocks, logs, RPC calls), which
-- readiness, the metrics, the overview and the Confirmations page read.
CREATE TABLE job_states (
    job               text    PRIMARY KEY,
    paused            boolean NOT NULL DEFAULT false,
    run_requested_at  bigint,
    last_started_at   bigint,
    last_ended_at     bigint,
    -- running, succeeded or failed
    last_outcome      text,
    last_instance     text,
    last_error        text,
    last_success_at   bigint,
    last_summary      text,
    failures_in_a_row bigint  NOT NULL DEFAULT 0,
    changed_at        bigint  NOT NULL
);

-- Failed passes per job and hour (the start of the hour, in milliseconds), for "failures in the last 24 h".
CREATE TABLE job_failure_hours (
    job      text   NOT NULL,
    hour     bigint NOT NULL,
    failures bigint NOT NULL,
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
