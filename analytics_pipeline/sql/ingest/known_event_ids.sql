-- Which of a group's event ids (16-byte values, as ingestion holds them) the ledger already
-- holds, from earlier batches or days. LATERAL ... LIMIT 1 keeps this one index probe per id:
-- as a join or `= ANY`, the planner may scan the whole ledger for a large group, and
-- ingestion would then slow down as the history grows.
SELECT raw_id
FROM unnest(%(ids)b::bytea[]) AS raw_id
CROSS JOIN LATERAL (
    SELECT 1 FROM raw.analytics_event_ids AS l
    WHERE l.client_event_id = encode(raw_id, 'hex')::uuid
    LIMIT 1
) AS known
