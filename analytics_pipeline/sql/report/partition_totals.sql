SELECT
    received_date,
    count(*) AS batches,
    sum(lines) AS lines,
    sum(accepted) AS accepted,
    sum(duplicates) AS duplicates,
    sum(dead_lettered) AS dead_lettered,
    sum(unresolved_org) AS unresolved_org
FROM raw.analytics_event_batches
GROUP BY received_date
ORDER BY received_date
