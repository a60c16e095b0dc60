-- The sealed names and e-mails of the given learners, for an org admin of `org`: the caller is
-- the role the web app acts as (SET LOCAL ROLE, as for every read under row-level security),
-- and only learners enrolled in that org and not erased from it come back. Every read by an
-- org admin is audited, with how many learners it returned; anyone else gets no row.
CREATE OR REPLACE FUNCTION access.read_learner_directory(org text, tokens text[])
RETURNS TABLE (user_token text, name_sealed bytea, email_sealed bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    caller text := coalesce(nullif(current_setting('role'), 'none'), session_user);
    found integer;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM access.org_grants AS g
        WHERE g.role_name = caller AND g.org_id = org AND g.privilege = 'org_admin'
    ) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT d.user_token, d.name_sealed, d.email_sealed
    FROM raw.learner_directory AS d
    WHERE
        d.user_token = ANY (tokens)
        AND EXISTS (SELECT 1 FROM raw.enrollments AS e WHERE e.user_token = d.user_token AND e.org_id = org)
        AND NOT EXISTS (
            SELECT 1 FROM raw.erased_learners AS x WHERE x.user_token = d.user_token AND x.org_id IN ('', org)
        );
    GET DIAGNOSTICS found = ROW_COUNT;
    INSERT INTO access.learner_directory_reads (role_name, org_id, learners) VALUES (caller, org, found);
END
$$;

REVOKE ALL ON FUNCTION access.read_learner_directory(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.read_learner_directory(text, text[]) TO analytics_tenant, analytics_platform_admin;
