-- Benchmark history: copies of one received day's events into the %(copies)s days before it,
-- with new event ids (ledger included) and sessions of their own (a session is one sitting), so
-- the tables, indexes and id ledger hold that much.
WITH copied AS (
    INSERT INTO raw.analytics_events (
        received_date, client_event_id, event_type, occurred_at, received_at, user_token, org_id,
        claimed_org_id, course_id, lesson_id, session_id, properties, batch_id, line_no
    )
    SELECT e.received_date - k, gen_random_uuid(), e.event_type, e.occurred_at - make_interval(days => k),
           e.received_at - make_interval(days => k), e.user_token, e.org_id, e.claimed_org_id, e.course_id,
           e.lesson_id, e.session_id || '-copy-' || k, e.properties, e.batch_id || '-copy-' || k, e.line_no
    FROM raw.analytics_events AS e
    CROSS JOIN generate_series(1, %(copies)s) AS k
    WHERE e.received_date = %(day)s
    RETURNING client_event_id, received_date, batch_id
)
INSERT INTO raw.analytics_event_ids (client_event_id, received_date, batch_id)
SELECT client_event_id, received_date, batch_id FROM copied
