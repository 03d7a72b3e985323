-- When each scheduled job last finished without error, so that `serve` can catch up at start
-- on a job whose schedule was missed while it was down (the full sync keeps using sync_runs).
CREATE TABLE job_runs (
    job TEXT PRIMARY KEY NOT NULL,
    succeeded_at BIGINT NOT NULL
);
