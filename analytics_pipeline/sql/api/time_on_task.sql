SELECT
    t.org_id,
    t.course_id,
    k.course_title,
    t.activity_date,
    t.learners,
    t.median_seconds_on_task,
    t.total_seconds_on_task
FROM marts.course_time_on_task_daily AS t
LEFT JOIN marts.course_catalog AS k ON t.org_id = k.org_id AND t.course_id = k.course_id
WHERE
    t.org_id = %(org)s
    AND (%(course)s::text IS NULL OR t.course_id = %(course)s)
    AND (%(from)s::date IS NULL OR t.activity_date >= %(from)s)
    AND (%(to)s::date IS NULL OR t.activity_date <= %(to)s)
ORDER BY t.activity_date, t.course_id
