-- Raw events whose clientEventId appears twice, and raw events missing from the id ledger
-- (or the reverse): all three must be zero. Only the days that both the events and the
-- ledger still keep (raw.retention_cutoffs) are compared.
WITH kept AS (
    SELECT greatest(
        (SELECT c.before FROM raw.retention_cutoffs AS c WHERE c.kind = 'events'),
        (SELECT c.before FROM raw.retention_cutoffs AS c WHERE c.kind = 'event_ids'),
        '-infinity'::date
    ) AS since
)
SELECT
    (SELECT count(*) - count(DISTINCT client_event_id) FROM raw.analytics_events) AS duplicate_ids,
    (
        SELECT count(*) FROM raw.analytics_events AS e, kept AS k
        WHERE e.received_date >= k.since
            AND NOT EXISTS (SELECT 1 FROM raw.analytics_event_ids AS i WHERE i.client_event_id = e.client_event_id)
    ) AS missing_from_ledger,
    (SELECT count(*) FROM raw.analytics_event_ids AS i, kept AS k WHERE i.received_date >= k.since)
    - (SELECT count(*) FROM raw.analytics_events AS e, kept AS k WHERE e.received_date >= k.since) AS ledger_surplus
