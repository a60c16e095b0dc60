-- Per-org figures for dashboards, read from the freshly built marts. Activity windows are
-- anchored on data_fresh_as_of (the newest receivedAt the marts reflect), not on the wall
-- clock, so a replayed or backfilled history gives the same figures as a live one.
WITH fresh AS (
    SELECT max(data_fresh_as_of) AS as_of FROM marts.org_engagement_daily
),
active AS (
    SELECT
        e.org_id,
        count(DISTINCT e.user_token) FILTER (WHERE e.occurred_at > f.as_of - interval '7 days') AS active_7d,
        count(DISTINCT e.user_token) AS active_30d
    FROM raw.analytics_events AS e
    CROSS JOIN fresh AS f
    WHERE e.org_id IS NOT NULL AND e.occurred_at > f.as_of - interval '30 days'
    GROUP BY e.org_id
),
completion AS (
    SELECT org_id, sum(enrolled_learners) AS enrolled, sum(completed_learners) AS completed
    FROM marts.view_course_completion_rate
    GROUP BY org_id
),
top_dropoff AS (
    -- Ignore lessons too few learners reached for their rate to mean anything.
    SELECT DISTINCT ON (d.org_id)
        d.org_id, d.course_id, d.lesson_id, d.dropoff_rate,
        l.title AS lesson_title, l.position AS lesson_position
    FROM marts.view_lesson_dropoff AS d
    JOIN raw.lessons AS l USING (lesson_id)
    WHERE d.learners_started >= 5
    ORDER BY d.org_id, d.dropoff_rate DESC, d.learners_started DESC, d.course_id, d.lesson_id
),
video AS (
    SELECT
        org_id,
        count(*) FILTER (WHERE video_max_position_seconds IS NOT NULL OR video_completed) AS played,
        count(*) FILTER (WHERE video_completed) AS completed
    FROM core.user_lesson_progress
    GROUP BY org_id
),
engagement AS (
    SELECT
        org_id, sum(quizzes_submitted) AS quizzes_submitted, sum(quizzes_passed) AS quizzes_passed,
        max(data_fresh_as_of) AS fresh_as_of
    FROM marts.org_engagement_daily
    GROUP BY org_id
),
survey AS (
    SELECT org_id, sum(responses) AS responses, sum(avg_rating * responses) / nullif(sum(responses), 0) AS avg_rating
    FROM marts.survey_summary
    GROUP BY org_id
)
SELECT
    o.org_id,
    o.name AS org_name,
    coalesce(a.active_7d, 0) AS active_learners_7d,
    coalesce(a.active_30d, 0) AS active_learners_30d,
    coalesce(c.enrolled, 0) AS enrolled_learners,
    coalesce(c.completed, 0) AS completed_learners,
    round(c.completed::numeric / nullif(c.enrolled, 0), 4) AS completion_rate,
    t.course_id AS top_dropoff_course_id,
    t.lesson_id AS top_dropoff_lesson_id,
    t.lesson_title AS top_dropoff_lesson_title,
    t.lesson_position AS top_dropoff_lesson_position,
    t.dropoff_rate AS top_dropoff_rate,
    coalesce(v.played, 0) AS videos_played,
    coalesce(v.completed, 0) AS videos_completed,
    round(v.completed::numeric / nullif(v.played, 0), 4) AS video_completion_rate,
    coalesce(g.quizzes_submitted, 0) AS quizzes_submitted,
    round(g.quizzes_passed::numeric / nullif(g.quizzes_submitted, 0), 4) AS quiz_pass_rate,
    coalesce(s.responses, 0) AS survey_responses,
    round(s.avg_rating, 2) AS survey_avg_rating,
    (SELECT as_of FROM fresh) AS data_fresh_as_of
FROM raw.organizations AS o
LEFT JOIN active AS a USING (org_id)
LEFT JOIN completion AS c USING (org_id)
LEFT JOIN top_dropoff AS t USING (org_id)
LEFT JOIN video AS v USING (org_id)
LEFT JOIN engagement AS g USING (org_id)
LEFT JOIN survey AS s USING (org_id)
ORDER BY o.org_id
