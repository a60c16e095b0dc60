-- The orgs the calling role may see (row-level security decides), for the org selector.
SELECT org_id AS organization_id, org_name AS name
FROM core.analytics_insights
ORDER BY org_name, org_id
