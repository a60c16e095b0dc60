SELECT
    c.org_id,
    c.course_id,
    c.course_title AS title,
    c.enrolled_learners,
    c.completed_learners,
    c.completion_rate
FROM marts.view_course_completion_rate AS c
WHERE c.org_id = %(org)s AND (%(course)s::text IS NULL OR c.course_id = %(course)s)
ORDER BY c.course_id
