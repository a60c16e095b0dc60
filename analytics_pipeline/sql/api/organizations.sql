-- The orgs the calling role may see (row-level security decides), for the org selector.
SELECT
    i.org_id AS organization_id,
    i.org_name AS name
FROM marts.org_insights AS i
ORDER BY i.org_name, i.org_id
