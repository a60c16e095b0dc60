-- Batch files already dealt with: ingested (batch ledger) or set aside (quarantine).
-- A NULL received_date means every partition; NULL batch_ids every batch.
SELECT received_date, batch_id FROM raw.analytics_event_batches
WHERE (%(received_date)s::date IS NULL OR received_date = %(received_date)s::date)
  AND (%(batch_ids)b::text[] IS NULL OR batch_id = ANY(%(batch_ids)b::text[]))
UNION ALL
SELECT received_date, batch_id FROM raw.analytics_quarantined_files
WHERE (%(received_date)s::date IS NULL OR received_date = %(received_date)s::date)
  AND (%(batch_ids)b::text[] IS NULL OR batch_id = ANY(%(batch_ids)b::text[]))
