-- Tenant isolation in the database itself: row-level security on every table a tenant may
-- read, driven by grants in access.org_grants. Nothing a client can set in its session (a
-- GUC, a header, search_path) is consulted: only the role it is (current_user) and the grants.
CREATE SCHEMA IF NOT EXISTS access;

DO $$
BEGIN
    -- Cluster-wide group roles: tenants' roles are members of analytics_tenant, which holds
    -- the SELECT privileges; RLS then decides the rows.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_tenant') THEN
        CREATE ROLE analytics_tenant NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_platform_admin') THEN
        CREATE ROLE analytics_platform_admin NOLOGIN;
    END IF;
END
$$;

-- PostgreSQL 14 still lets everyone create objects in public: a tenant could plant
-- look-alike functions there.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE TABLE access.org_grants (
    role_name text NOT NULL,
    org_id text NOT NULL,
    privilege text NOT NULL CHECK (privilege IN ('tenant', 'org_admin')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_name, org_id, privilege)
);

-- A role sees its own grants, the platform admin sees all.
ALTER TABLE access.org_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON access.org_grants FOR SELECT
USING (role_name = current_user OR pg_catalog.pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER'));

-- The current definitions: sql/routines/access_policies.sql, re-applied by every migrate.
-- The predicates every policy uses. Fixed search_path: a client's search_path cannot swap
-- the functions or the table they read.
CREATE FUNCTION access.org_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM access.org_grants AS g WHERE g.role_name = current_user AND g.org_id = org)
$$;

CREATE FUNCTION access.free_text_visible(org text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, 'analytics_platform_admin', 'MEMBER')
        OR EXISTS (SELECT 1 FROM access.org_grants AS g
                   WHERE g.role_name = current_user AND g.org_id = org AND g.privilege = 'org_admin')
$$;

-- Called by migrations for core tables and by a dbt post-hook for every mart, inside the
-- transaction that swaps a rebuilt table in: a mart is never visible without its policy.
CREATE FUNCTION access.apply_tenant_policy(target regclass, predicate text DEFAULT 'access.org_visible')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', target);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s FOR SELECT USING (%s(org_id))', target, predicate);
    EXECUTE format('GRANT SELECT ON %s TO analytics_tenant, analytics_platform_admin', target);
END
$$;

-- Schema usage is granted here, once: dbt builds marts on parallel threads, and concurrent
-- GRANTs on one schema collide ("tuple concurrently updated").
CREATE SCHEMA IF NOT EXISTS marts;
GRANT USAGE ON SCHEMA access, marts, core, raw TO analytics_tenant, analytics_platform_admin;
GRANT SELECT ON access.org_grants TO analytics_tenant, analytics_platform_admin;

SELECT access.apply_tenant_policy('core.user_lesson_progress');
SELECT access.apply_tenant_policy('core.user_course_progress');
SELECT access.apply_tenant_policy('core.analytics_insights');
-- Free text: only an org-admin grant (or the platform admin) reads it.
SELECT access.apply_tenant_policy('raw.survey_free_text', 'access.free_text_visible');
