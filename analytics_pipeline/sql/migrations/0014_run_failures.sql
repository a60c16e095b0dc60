-- Failed Dagster runs, as the run-failure sensor saw them: the platform's own health, which
-- the web app's /metrics reports without access to Dagster's storage.
CREATE TABLE raw.run_failures (
    run_id text PRIMARY KEY,
    job_name text NOT NULL,
    partition_key text,
    failed_at timestamptz NOT NULL DEFAULT now()
);
