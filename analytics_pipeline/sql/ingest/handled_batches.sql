-- Batch files already dealt with: ingested (batch ledger) or set aside (quarantine).
-- %(received_date)s NULL means every partition.
SELECT received_date, batch_id FROM raw.analytics_event_batches
WHERE %(received_date)s::date IS NULL OR received_date = %(received_date)s::date
UNION ALL
SELECT received_date, batch_id FROM raw.analytics_quarantined_files
WHERE %(received_date)s::date IS NULL OR received_date = %(received_date)s::date
