-- Batches whose ledger does not add up, or disagrees with the rows actually stored (erased
-- events count among the lines but are no longer stored).
WITH stored AS (
    SELECT received_date, batch_id, count(*) AS n FROM raw.analytics_events GROUP BY 1, 2
), dead AS (
    SELECT received_date, batch_id, count(*) AS n FROM raw.analytics_dead_letters
    WHERE replayed_at IS NULL GROUP BY 1, 2
)
SELECT
    b.received_date, b.batch_id, b.lines, b.accepted, b.duplicates, b.dead_lettered, b.erased,
    coalesce(s.n, 0) AS stored_events, coalesce(d.n, 0) AS stored_dead_letters
FROM raw.analytics_event_batches AS b
LEFT JOIN stored AS s USING (received_date, batch_id)
LEFT JOIN dead AS d USING (received_date, batch_id)
WHERE b.lines <> b.accepted + b.duplicates + b.dead_lettered + b.erased
    OR b.accepted <> coalesce(s.n, 0)
    OR b.dead_lettered <> coalesce(d.n, 0)
ORDER BY b.received_date, b.batch_id
LIMIT 20
