-- When each partition last took in a batch file.
SELECT received_date, max(ingested_at) AS last_ingested_at
FROM raw.analytics_event_batches
GROUP BY received_date
