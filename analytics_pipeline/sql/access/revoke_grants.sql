-- A role's grants on an org: one privilege, or all of them when none is named.
DELETE FROM access.org_grants
WHERE role_name = %(role)s AND org_id = %(org)s AND (%(privilege)s::text IS NULL OR privilege = %(privilege)s)
