-- A role `access create-role` made, as one credentials may name; a platform admin stays one.
INSERT INTO access.analytics_roles (role_name, kind) VALUES (%(role)s, %(kind)s)
ON CONFLICT (role_name) DO UPDATE SET kind = CASE
        WHEN excluded.kind = 'platform_admin' THEN excluded.kind ELSE access.analytics_roles.kind
    END
