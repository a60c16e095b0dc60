-- Fold a range of received-date partitions' events into per-learner lesson state. Every column merges
-- with LEAST / GREATEST / OR, so re-applying a partition leaves the state unchanged.
INSERT INTO core.user_lesson_progress AS p (
    org_id, user_token, course_id, lesson_id, first_event_at, last_event_at,
    lesson_completed, video_max_position_seconds, video_completed, quiz_passed, last_received_at
)
SELECT
    org_id,
    user_token,
    course_id,
    lesson_id,
    min(occurred_at),
    max(occurred_at),
    bool_or(event_type = 'lesson_completed'),
    max((properties ->> 'positionSeconds')::numeric) FILTER (WHERE starts_with(event_type, 'video_')),
    bool_or(event_type = 'video_completed'),
    coalesce(bool_or((properties ->> 'passed')::boolean) FILTER (WHERE event_type = 'quiz_submitted'), FALSE),
    max(received_at)
FROM raw.analytics_events
WHERE received_date BETWEEN %(first_date)s AND %(last_date)s
    AND org_id IS NOT NULL
    AND lesson_id IS NOT NULL
GROUP BY org_id, user_token, course_id, lesson_id
-- In key order, the upsert walks its key's index leaf by leaf instead of at random: once the
-- index outgrows PostgreSQL's buffers, random inserts read and write its pages again and again.
ORDER BY org_id, user_token, course_id, lesson_id
ON CONFLICT (org_id, user_token, course_id, lesson_id) DO UPDATE SET
    first_event_at = LEAST(p.first_event_at, EXCLUDED.first_event_at),
    last_event_at = GREATEST(p.last_event_at, EXCLUDED.last_event_at),
    lesson_completed = p.lesson_completed OR EXCLUDED.lesson_completed,
    video_max_position_seconds = GREATEST(p.video_max_position_seconds, EXCLUDED.video_max_position_seconds),
    video_completed = p.video_completed OR EXCLUDED.video_completed,
    quiz_passed = p.quiz_passed OR EXCLUDED.quiz_passed,
    last_received_at = GREATEST(p.last_received_at, EXCLUDED.last_received_at)
