SELECT g.role_name, g.org_id, g.privilege, g.granted_at, r.rolcanlogin AS can_login
FROM access.org_grants AS g
LEFT JOIN pg_catalog.pg_roles AS r ON r.rolname = g.role_name
ORDER BY g.role_name, g.org_id, g.privilege
