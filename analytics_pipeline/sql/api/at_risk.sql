SELECT
    r.org_id,
    r.course_id,
    r.user_token,
    r.risk_level,
    r.reasons,
    r.last_activity_at,
    r.lessons_completed,
    r.lessons_total,
    r.due_at,
    r.days_to_due
FROM marts.learners_at_risk AS r
WHERE r.org_id = %(org)s AND (%(course)s::text IS NULL OR r.course_id = %(course)s)
ORDER BY
    CASE r.risk_level WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
    cardinality(r.reasons) DESC,
    r.days_to_due,
    r.course_id,
    r.user_token
