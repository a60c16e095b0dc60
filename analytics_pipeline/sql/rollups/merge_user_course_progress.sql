-- Recompute course state for the learners and courses a range of partitions touched: event-level
-- facts merge idempotently, lesson counts are re-derived from user_lesson_progress.
WITH partition_events AS (
    SELECT
        org_id, user_token, course_id,
        min(occurred_at) AS first_event_at,
        max(occurred_at) AS last_event_at,
        bool_or(event_type = 'course_completed') AS course_completed_event,
        max(received_at) AS last_received_at
    FROM raw.analytics_events
    WHERE received_date BETWEEN %(first_date)s AND %(last_date)s AND org_id IS NOT NULL
    GROUP BY org_id, user_token, course_id
),
lesson_counts AS (
    SELECT
        t.org_id, t.user_token, t.course_id,
        count(l.lesson_id) AS lessons_started,
        count(l.lesson_id) FILTER (WHERE p.lesson_completed) AS lessons_completed
    FROM partition_events AS t
    JOIN core.user_lesson_progress AS p USING (org_id, user_token, course_id)
    JOIN raw.lessons AS l ON l.lesson_id = p.lesson_id AND l.course_id = p.course_id
    GROUP BY t.org_id, t.user_token, t.course_id
),
totals AS (
    SELECT course_id, count(*) AS lessons_total FROM raw.lessons GROUP BY course_id
)
INSERT INTO core.user_course_progress AS p (
    org_id, user_token, course_id, first_event_at, last_event_at, course_completed_event,
    lessons_started, lessons_completed, lessons_total, completed, last_received_at
)
SELECT
    e.org_id, e.user_token, e.course_id, e.first_event_at, e.last_event_at,
    e.course_completed_event,
    coalesce(c.lessons_started, 0),
    coalesce(c.lessons_completed, 0),
    coalesce(t.lessons_total, 0),
    e.course_completed_event
    OR coalesce(t.lessons_total > 0 AND c.lessons_completed = t.lessons_total, FALSE),
    e.last_received_at
FROM partition_events AS e
LEFT JOIN lesson_counts AS c USING (org_id, user_token, course_id)
LEFT JOIN totals AS t USING (course_id)
ON CONFLICT (org_id, user_token, course_id) DO UPDATE SET
    first_event_at = LEAST(p.first_event_at, EXCLUDED.first_event_at),
    last_event_at = GREATEST(p.last_event_at, EXCLUDED.last_event_at),
    course_completed_event = p.course_completed_event OR EXCLUDED.course_completed_event,
    lessons_started = EXCLUDED.lessons_started,
    lessons_completed = EXCLUDED.lessons_completed,
    lessons_total = EXCLUDED.lessons_total,
    completed = p.course_completed_event OR EXCLUDED.completed,
    last_received_at = GREATEST(p.last_received_at, EXCLUDED.last_received_at)
