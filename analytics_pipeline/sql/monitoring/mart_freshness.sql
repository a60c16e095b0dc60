-- data_fresh_as_of: the newest receivedAt the marts reflect; newest_received_at: the newest
-- receivedAt ingested with an org (what the marts could reflect after their next build).
SELECT
    (SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily) AS data_fresh_as_of,
    (SELECT max(max_received_at) FROM raw.analytics_event_batches WHERE accepted > unresolved_org) AS newest_received_at
