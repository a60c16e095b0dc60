-- The learners at risk a request is about: whose names an org admin's read asks for.
SELECT DISTINCT r.user_token
FROM marts.learners_at_risk AS r
WHERE r.org_id = %(org)s AND (%(course)s::text IS NULL OR r.course_id = %(course)s)
