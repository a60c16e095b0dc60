SELECT i.org_id, i.org_name, i.summary, i.data_fresh_as_of
FROM core.analytics_insights AS i
WHERE i.org_id = %(org)s
