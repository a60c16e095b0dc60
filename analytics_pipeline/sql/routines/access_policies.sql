-- Tenant isolation: what the current role may see, and the row-level security policy that
-- applies it. Fixed search_path: a client's search_path cannot swap the functions or the
-- table they read. A policy asks these once per query (InitPlans), not once per row; the cast
-- makes ANY read the subquery's one array, not its rows.
CREATE OR REPLACE FUNCTION access.sees_every_org() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')
$$;

-- The orgs the current role holds a grant for: any grant, or only org-admin grants.
CREATE OR REPLACE FUNCTION access.granted_orgs(org_admin_only boolean) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT coalesce(array_agg(DISTINCT g.org_id), '{}') FROM access.org_grants AS g
    WHERE g.role_name = current_user AND (NOT org_admin_only OR g.privilege = 'org_admin')
$$;

CREATE OR REPLACE FUNCTION access.org_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT access.sees_every_org() OR org = ANY(access.granted_orgs(false))
$$;

CREATE OR REPLACE FUNCTION access.free_text_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT access.sees_every_org() OR org = ANY(access.granted_orgs(true))
$$;

-- Called by migrations for core tables and by a dbt post-hook for every mart, inside the
-- transaction that swaps a rebuilt table in: a mart is never visible without its policy.
-- `predicate` names the visibility rule: access.org_visible, or access.free_text_visible.
CREATE OR REPLACE FUNCTION access.apply_tenant_policy(target regclass, predicate text DEFAULT 'access.org_visible')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    org_admin_only boolean := CASE predicate
        WHEN 'access.org_visible' THEN false
        WHEN 'access.free_text_visible' THEN true
    END;
BEGIN
    IF org_admin_only IS NULL THEN
        RAISE EXCEPTION 'unknown visibility rule %', predicate;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s FOR SELECT USING ((SELECT access.sees_every_org())'
        ' OR org_id = ANY ((SELECT access.granted_orgs(%L))::text[]))', target, org_admin_only);
    EXECUTE format('GRANT SELECT ON %s TO analytics_tenant, analytics_platform_admin', target);
END
$$;
