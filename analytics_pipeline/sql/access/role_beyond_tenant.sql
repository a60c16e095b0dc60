-- Whether a role holds powers a tenant must not have, or is the one running this.
SELECT
    r.rolsuper OR r.rolcreaterole OR r.rolbypassrls
    OR r.rolname = current_user OR r.rolname = session_user AS beyond
FROM pg_roles AS r
WHERE r.rolname = %(role)s
