SELECT
    r.org_id,
    r.course_id,
    k.course_title,
    r.user_token,
    r.risk_level,
    r.reasons,
    r.last_activity_at,
    r.lessons_completed,
    r.lessons_total,
    r.due_at,
    r.days_to_due,
    -- Names and e-mails come from the learner directory, read and opened by the web app for
    -- an org admin (web/learner_names.py), and are passed in only to be shown: never stored.
    n.learner_name,
    n.learner_email
FROM marts.learners_at_risk AS r
LEFT JOIN marts.course_catalog AS k ON r.org_id = k.org_id AND r.course_id = k.course_id
LEFT JOIN
    unnest(%(learner_tokens)s::text[], %(learner_names)s::text[], %(learner_emails)s::text[])
        AS n (user_token, learner_name, learner_email)
    ON r.user_token = n.user_token
WHERE r.org_id = %(org)s AND (%(course)s::text IS NULL OR r.course_id = %(course)s)
ORDER BY
    CASE r.risk_level WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
    cardinality(r.reasons) DESC,
    r.days_to_due,
    r.course_id,
    r.user_token
