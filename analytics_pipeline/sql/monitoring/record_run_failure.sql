INSERT INTO raw.run_failures (run_id, job_name, partition_key)
VALUES (%(run_id)s, %(job_name)s, %(partition_key)s)
ON CONFLICT (run_id) DO NOTHING
