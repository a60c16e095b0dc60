-- When each partition last took in a batch file; days the retention schedule let go are out.
SELECT b.received_date, max(b.ingested_at) AS last_ingested_at
FROM raw.analytics_event_batches AS b
WHERE b.received_date >= coalesce(
        (SELECT c.before FROM raw.retention_cutoffs AS c WHERE c.kind = 'events'), '-infinity'::date
    )
GROUP BY b.received_date
