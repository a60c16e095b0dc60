SELECT
    r.org_id,
    r.week_start,
    r.active_learners,
    r.returned_week_1,
    r.returned_week_2,
    r.returned_week_4,
    r.retention_week_1,
    r.retention_week_2,
    r.retention_week_4
FROM marts.org_retention_weekly AS r
WHERE
    r.org_id = %(org)s
    AND (%(from)s::date IS NULL OR r.week_start >= %(from)s)
    AND (%(to)s::date IS NULL OR r.week_start <= %(to)s)
ORDER BY r.week_start
