-- A table whose tenant_isolation policy predates the current rule (access_policies.sql) gets
-- the current one, keeping its visibility rule; a table already current is left alone, so
-- this takes no lock on a later migrate.
DO $$
DECLARE
    stale record;
BEGIN
    FOR stale IN
        SELECT format('%I.%I', p.schemaname, p.tablename) AS target, p.qual
        FROM pg_catalog.pg_policies AS p
        WHERE p.policyname = 'tenant_isolation' AND p.qual NOT LIKE '%ARRAY( SELECT g.org_id%'
    LOOP
        PERFORM access.apply_tenant_policy(
            stale.target::regclass,
            CASE
                WHEN stale.qual LIKE '%free_text_visible%' OR stale.qual LIKE '%granted_orgs(true)%'
                    THEN 'access.free_text_visible'
                ELSE 'access.org_visible'
            END
        );
    END LOOP;
END
$$;

-- A role sees its own grants, the platform admin all of them; whether the role is a platform
-- admin is asked once per query (an InitPlan), not once per grant.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_policies AS p
        WHERE p.schemaname = 'access' AND p.tablename = 'org_grants' AND p.policyname = 'own_grants'
            AND p.qual LIKE '%( SELECT pg_has_role%'
    ) THEN
        DROP POLICY IF EXISTS own_grants ON access.org_grants;
        CREATE POLICY own_grants ON access.org_grants FOR SELECT
        USING (role_name = current_user OR (SELECT pg_catalog.pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')));
    END IF;
END
$$;
