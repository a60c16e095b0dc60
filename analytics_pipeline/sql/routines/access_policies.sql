-- Tenant isolation: what the current role may see, and the row-level security policy that
-- applies it. Fixed search_path: a client's search_path cannot swap the functions or the
-- table they read (a policy's expression refers to its table and functions by identity).
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
-- `predicate` names the rule, as the functions above do: access.org_visible, or
-- access.free_text_visible. The policy spells the rule out as subqueries that run once per
-- query (InitPlans), where a function call would run, and be planned, once per row.
CREATE OR REPLACE FUNCTION access.apply_tenant_policy(target regclass, predicate text DEFAULT 'access.org_visible')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    privilege_filter text := CASE predicate
        WHEN 'access.org_visible' THEN ''
        WHEN 'access.free_text_visible' THEN ' AND g.privilege = ''org_admin'''
    END;
BEGIN
    IF privilege_filter IS NULL THEN
        RAISE EXCEPTION 'unknown visibility rule %', predicate;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s FOR SELECT USING ('
        '(SELECT pg_catalog.pg_has_role(current_user, ''analytics_platform_admin'', ''MEMBER''))'
        ' OR org_id = ANY (ARRAY(SELECT g.org_id FROM access.org_grants AS g'
        ' WHERE g.role_name = current_user%s)))', target, privilege_filter);
    EXECUTE format('GRANT SELECT ON %s TO analytics_tenant, analytics_platform_admin', target);
END
$$;
