-- Which of a group's event ids the ledger already holds, from earlier batches or days, as
-- the 16 bytes ingestion holds them by. The ids come as one bytea of 16-byte ids end to end:
-- psycopg formats a bytea[] in Python, at 1.7 µs an id, on the writer's interpreter lock.
-- Computed into an array first, they reach the planner as one parameter of unknown size: it
-- keeps one index probe per id (a bitmap scan of the key), whatever the size of the group or
-- of the ledger. As a join, or `= ANY` over the unnested ids, it may scan the whole ledger for
-- a large group; as a LATERAL probe per id it ran the executor once per id, at twice the
-- cost (bench/README.md).
SELECT uuid_send(l.client_event_id)
FROM raw.analytics_event_ids AS l
WHERE l.client_event_id = ANY(ARRAY(
        SELECT encode(substring(%(ids)b::bytea FROM i * 16 + 1 FOR 16), 'hex')::uuid
        FROM generate_series(0, length(%(ids)b::bytea) / 16 - 1) AS i
    ))
