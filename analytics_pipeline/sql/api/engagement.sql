-- Org-wide daily activity (the mart has no course dimension), within the date range.
SELECT
    e.org_id,
    e.activity_date,
    e.active_learners,
    e.events,
    e.video_plays,
    e.videos_completed,
    e.lessons_completed,
    e.quizzes_submitted,
    e.quizzes_passed,
    e.courses_completed
FROM marts.org_engagement_daily AS e
WHERE e.org_id = %(org)s
    AND (%(from)s::date IS NULL OR e.activity_date >= %(from)s::date)
    AND (%(to)s::date IS NULL OR e.activity_date <= %(to)s::date)
ORDER BY e.activity_date
