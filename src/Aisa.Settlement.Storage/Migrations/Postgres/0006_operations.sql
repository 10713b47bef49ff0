-- What an operator asked of a job, kept here rather than in one instance's scheduler, so that every instance obeys:
-- a paused job is skipped; a requested run is taken by the instance holding the job's lease, once, paused or not.
CREATE TABLE job_controls (
    job              text    PRIMARY KEY,
    paused           boolean NOT NULL,
    run_requested_at bigint,
    changed_at       bigint  NOT NULL
);

-- Every running service instance, with its last heartbeat (the dashboard's instances page).
CREATE TABLE service_instances (
    id           text   PRIMARY KEY,
    host         text   NOT NULL,
    started_at   bigint NOT NULL,
    heartbeat_at bigint NOT NULL
);

-- Charges per minute for the dashboard's chart: each instance writes its own count of each minute (its totals so far).
CREATE TABLE charge_minutes (
    minute   bigint NOT NULL,
    instance text NOT NULL,
    charges  bigint NOT NULL,
    amount   bigint NOT NULL,
    PRIMARY KEY (minute, instance)
);
