INSERT INTO access.org_grants (role_name, org_id, privilege)
VALUES (%(role)s, %(org)s, %(privilege)s)
ON CONFLICT DO NOTHING
