-- Raw events whose clientEventId appears twice, and raw events missing from the id ledger
-- (or the reverse): all three must be zero.
SELECT
    (SELECT count(*) - count(DISTINCT client_event_id) FROM raw.analytics_events) AS duplicate_ids,
    (
        SELECT count(*) FROM raw.analytics_events AS e
        WHERE NOT EXISTS (SELECT 1 FROM raw.analytics_event_ids AS i WHERE i.client_event_id = e.client_event_id)
    ) AS missing_from_ledger,
    (SELECT count(*) FROM raw.analytics_event_ids) - (SELECT count(*) FROM raw.analytics_events) AS ledger_surplus
