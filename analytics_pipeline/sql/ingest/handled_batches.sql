-- Batch files already dealt with (ingested or quarantined); NULLs mean every day or batch.
SELECT received_date, batch_id FROM web.handled_batches(%(received_date)s::date, %(batch_ids)b::text[])
