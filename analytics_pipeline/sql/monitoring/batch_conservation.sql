-- Batches whose ledger does not add up, or disagrees with the rows actually stored (erased
-- events count among the lines but are no longer stored). Days the retention schedule let go
-- (raw.retention_cutoffs) no longer hold their events or dead letters: only the sum is judged.
WITH cutoff AS (
    SELECT
        (SELECT c.before FROM raw.retention_cutoffs AS c WHERE c.kind = 'events') AS events,
        (SELECT c.before FROM raw.retention_cutoffs AS c WHERE c.kind = 'dead_letters') AS dead_letters
), stored AS (
    SELECT received_date, batch_id, count(*) AS n FROM raw.analytics_events GROUP BY 1, 2
), dead AS (
    SELECT received_date, batch_id, count(*) AS n FROM raw.analytics_dead_letters
    WHERE replayed_at IS NULL GROUP BY 1, 2
)
SELECT
    b.received_date, b.batch_id, b.lines, b.accepted, b.duplicates, b.dead_lettered, b.erased,
    coalesce(s.n, 0) AS stored_events, coalesce(d.n, 0) AS stored_dead_letters
FROM raw.analytics_event_batches AS b
CROSS JOIN cutoff AS c
LEFT JOIN stored AS s USING (received_date, batch_id)
LEFT JOIN dead AS d USING (received_date, batch_id)
WHERE b.lines <> b.accepted + b.duplicates + b.dead_lettered + b.erased
    OR (b.received_date >= c.events OR c.events IS NULL) AND b.accepted <> coalesce(s.n, 0)
    OR (b.received_date >= c.dead_letters OR c.dead_letters IS NULL) AND b.dead_lettered <> coalesce(d.n, 0)
ORDER BY b.received_date, b.batch_id
LIMIT 20
