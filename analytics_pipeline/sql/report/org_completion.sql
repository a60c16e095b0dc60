-- One org's course completion, for its charts.
SELECT
    coalesce(course_title, course_id) AS label, enrolled_learners, completed_learners,
    coalesce(completion_rate, 0)::float AS rate
FROM marts.view_course_completion_rate
WHERE org_id = %(org)s
ORDER BY label
