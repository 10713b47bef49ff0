-- What an operator asked of a job, kept here rather than in one instance's scheduler, so that every instance obeys:
-- a paused job is skipped; a requested run is taken by the instance holding the job's lease, once, paused or not.
CREATE TABLE job_controls (
    job              TEXT    PRIMARY KEY,
    paused           INTEGER NOT NULL CHECK (paused IN (0, 1)),
    run_requested_at INTEGER,
    changed_at       INTEGER NOT NULL
);

-- Every running service instance, with its last heartbeat (the dashboard's instances page).
CREATE TABLE service_instances (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

-- Charges per minute for the dashboard's chart: each instance writes its own count of each minute (its totals so far).
CREATE TABLE charge_minutes (
    minute   INTEGER NOT NULL,
    instance TEXT NOT NULL,
    charges  INTEGER NOT NULL,
    amount   INTEGER NOT NULL,
    PRIMARY KEY (minute, instance)
);
