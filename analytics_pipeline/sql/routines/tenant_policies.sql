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
        WHERE p.policyname = 'tenant_isolation' AND p.qual NOT LIKE '%granted_orgs%'
    LOOP
        PERFORM access.apply_tenant_policy(
            stale.target::regclass,
            CASE WHEN stale.qual LIKE '%free_text_visible%' THEN 'access.free_text_visible' ELSE 'access.org_visible' END
        );
    END LOOP;
END
$$;
