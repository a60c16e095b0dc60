-- Tenant isolation: the predicates every row-level security policy uses, and the function
-- that puts the policy on a table. Fixed search_path: a client's search_path cannot swap the
-- functions or the table they read.
CREATE OR REPLACE FUNCTION access.org_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM access.org_grants AS g WHERE g.role_name = current_user AND g.org_id = org)
$$;

CREATE OR REPLACE FUNCTION access.free_text_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM access.org_grants AS g
                   WHERE g.role_name = current_user AND g.org_id = org AND g.privilege = 'org_admin')
$$;

-- Called by migrations for core tables and by a dbt post-hook for every mart, inside the
-- transaction that swaps a rebuilt table in: a mart is never visible without its policy.
CREATE OR REPLACE FUNCTION access.apply_tenant_policy(target regclass, predicate text DEFAULT 'access.org_visible')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s FOR SELECT USING (%s(org_id))', target, predicate);
    EXECUTE format('GRANT SELECT ON %s TO analytics_tenant, analytics_platform_admin', target);
END
$$;
