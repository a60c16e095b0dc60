-- Credentials of the web app's callers, stored as SHA-256 digests only: a token or write key
-- is shown once at creation and cannot be read back from the database.
CREATE TABLE access.api_tokens (
    token_id text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    role_name text NOT NULL,
    label text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE access.write_keys (
    key_id text PRIMARY KEY,
    key_hash bytea NOT NULL UNIQUE,
    label text NOT NULL,
    org_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- The web process logs in as analytics_web. NOINHERIT: membership in a tenant role lets it
-- SET ROLE to that tenant and nothing more; on its own it may only call the web.* functions.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'analytics_web') THEN
        CREATE ROLE analytics_web LOGIN NOINHERIT;
    END IF;
END
$$;

CREATE SCHEMA web;
REVOKE ALL ON SCHEMA web FROM PUBLIC;
GRANT USAGE ON SCHEMA web TO analytics_web;

-- Roles that existed before the web app: it may act as each of them.
DO $$
DECLARE
    member text;
BEGIN
    FOR member IN
        SELECT DISTINCT r.rolname FROM pg_auth_members AS m
        JOIN pg_roles AS r ON r.oid = m.member
        JOIN pg_roles AS g ON g.oid = m.roleid
        WHERE g.rolname IN ('analytics_tenant', 'analytics_platform_admin') AND NOT r.rolsuper
    LOOP
        EXECUTE format('GRANT %I TO analytics_web', member);
    END LOOP;
END
$$;
