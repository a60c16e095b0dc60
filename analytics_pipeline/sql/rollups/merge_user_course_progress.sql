-- Fold a range of received-date partitions' events into per-learner course facts. Every
-- column merges with LEAST / GREATEST / OR, so re-applying a partition leaves the state
-- unchanged. Whether a learner completed the course is the marts' rule (dbt), not this table's.
INSERT INTO core.user_course_progress AS p (
    org_id, user_token, course_id, first_event_at, last_event_at, course_completed_event, last_received_at
)
SELECT
    org_id,
    user_token,
    course_id,
    min(occurred_at),
    max(occurred_at),
    bool_or(event_type = 'course_completed'),
    max(received_at)
FROM raw.analytics_events
WHERE received_date BETWEEN %(first_date)s AND %(last_date)s AND org_id IS NOT NULL
GROUP BY org_id, user_token, course_id
-- In key order, as merge_user_lesson_progress: the upsert walks its key's index leaf by leaf.
ORDER BY org_id, user_token, course_id
ON CONFLICT (org_id, user_token, course_id) DO UPDATE SET
    first_event_at = LEAST(p.first_event_at, EXCLUDED.first_event_at),
    last_event_at = GREATEST(p.last_event_at, EXCLUDED.last_event_at),
    course_completed_event = p.course_completed_event OR EXCLUDED.course_completed_event,
    last_received_at = GREATEST(p.last_received_at, EXCLUDED.last_received_at)
