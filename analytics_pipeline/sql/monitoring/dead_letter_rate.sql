-- Share of landed lines dead-lettered over the last %(days)s received days with data.
WITH recent AS (
    SELECT b.lines, b.dead_lettered FROM raw.analytics_event_batches AS b
    WHERE b.received_date > (SELECT max(l.received_date) FROM raw.analytics_event_batches AS l) - %(days)s
)
SELECT coalesce(sum(lines), 0) AS lines, coalesce(sum(dead_lettered), 0) AS dead_lettered FROM recent
