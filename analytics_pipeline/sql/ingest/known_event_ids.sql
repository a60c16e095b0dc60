-- Which of a group's event ids the ledger already holds, from earlier batches or days, as
-- the 16 bytes ingestion holds them by. The ids come as one bytea of 16-byte ids end to end,
-- because psycopg would format a bytea[] element by element in Python. Computed into an array
-- first, they reach the planner as one parameter of unknown size, so it keeps one index probe
-- per id whatever the size of the group or of the ledger (a join may scan the whole ledger).
SELECT uuid_send(l.client_event_id)
FROM raw.analytics_event_ids AS l
WHERE l.client_event_id = ANY(ARRAY(
        SELECT encode(substring(%(ids)b::bytea FROM i * 16 + 1 FOR 16), 'hex')::uuid
        FROM generate_series(0, length(%(ids)b::bytea) / 16 - 1) AS i
    ))
