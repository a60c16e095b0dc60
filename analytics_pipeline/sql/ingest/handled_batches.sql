-- Batch files already dealt with: ingested (batch ledger) or set aside (quarantine).
-- NULL %(received_date)s means every partition; NULL %(batch_ids)s every batch.
SELECT received_date, batch_id FROM raw.analytics_event_batches
WHERE (%(received_date)s::date IS NULL OR received_date = %(received_date)s::date)
  AND (%(batch_ids)s::text[] IS NULL OR batch_id = ANY(%(batch_ids)s::text[]))
UNION ALL
SELECT received_date, batch_id FROM raw.analytics_quarantined_files
WHERE (%(received_date)s::date IS NULL OR received_date = %(received_date)s::date)
  AND (%(batch_ids)s::text[] IS NULL OR batch_id = ANY(%(batch_ids)s::text[]))
