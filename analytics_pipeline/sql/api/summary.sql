SELECT
    i.org_id,
    i.org_name,
    s.summary,
    i.data_fresh_as_of
FROM marts.org_insights AS i
LEFT JOIN marts.org_summaries AS s ON i.org_id = s.org_id
WHERE i.org_id = %(org)s
