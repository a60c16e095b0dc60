-- Per org the caller may see (a platform admin: every org), the figures an overview lists.
SELECT
    i.org_id AS organization_id,
    i.org_name AS name,
    i.active_learners_7d,
    i.active_learners_30d,
    i.enrolled_learners::bigint AS enrolled_learners,
    i.completed_learners::bigint AS completed_learners,
    i.completion_rate,
    i.at_risk_learners,
    i.high_risk_learners,
    i.data_fresh_as_of
FROM marts.org_insights AS i
ORDER BY i.org_name, i.org_id
