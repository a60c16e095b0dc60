-- The newest receivedAt ingested with an org: what the marts could reflect after their next build.
SELECT max(max_received_at) FROM raw.analytics_event_batches WHERE accepted > unresolved_org
