-- A write key's org is final: ingestion asks whether that org offers an event's course.
CREATE INDEX enrollments_course_org ON raw.enrollments (course_id, org_id);
-- The web app no longer judges enrollments itself: raw.pick_org does, at ingestion.
DROP FUNCTION IF EXISTS web.enrolled_orgs(text[], text[]);

-- The roles `access create-role` made: the only ones a token, a JWT or the CLI may name
-- (web.may_act_as). Not the group roles, the owner, the web role or PostgreSQL's own.
CREATE TABLE access.analytics_roles (
    role_name text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('tenant', 'platform_admin')),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Roles made before this registry: the direct members of the two groups, but superusers.
INSERT INTO access.analytics_roles (role_name, kind)
SELECT DISTINCT ON (r.rolname)
    r.rolname,
    CASE g.rolname WHEN 'analytics_platform_admin' THEN 'platform_admin' ELSE 'tenant' END
FROM pg_auth_members AS m
INNER JOIN pg_roles AS r ON r.oid = m.member
INNER JOIN pg_roles AS g ON g.oid = m.roleid
WHERE
    g.rolname IN ('analytics_tenant', 'analytics_platform_admin')
    AND NOT r.rolsuper
    AND r.rolname NOT IN ('analytics_tenant', 'analytics_platform_admin', 'analytics_web')
ORDER BY r.rolname, g.rolname = 'analytics_platform_admin' DESC;

-- The dashboard's sessions: the cookie holds an opaque random id, this table its SHA-256
-- digest. A session ends at its absolute expiry, after `idle_seconds` without a request, when
-- signed out, or when the token it was opened with is revoked or expires.
CREATE TABLE access.dashboard_sessions (
    session_hash bytea PRIMARY KEY,
    role_name text NOT NULL,
    credential text NOT NULL,
    token_id text REFERENCES access.api_tokens (token_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    idle_seconds integer NOT NULL CHECK (idle_seconds > 0),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX dashboard_sessions_token ON access.dashboard_sessions (token_id);
