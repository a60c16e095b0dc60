-- The learners snapshot's sealed entries (staged in pg_temp.learners_snapshot) over the
-- directory: the LMS's own record of a learner wins over what their events said. An erased
-- learner is not written again.
INSERT INTO raw.learner_directory AS d (user_token, name_sealed, email_sealed, source)
SELECT s.user_token, s.name_sealed, s.email_sealed, 'snapshot'
FROM pg_temp.learners_snapshot AS s
WHERE NOT EXISTS (SELECT 1 FROM raw.erased_learners AS x WHERE x.user_token = s.user_token AND x.org_id = '')
ON CONFLICT (user_token) DO UPDATE
    SET
        name_sealed = excluded.name_sealed,
        email_sealed = excluded.email_sealed,
        source = 'snapshot',
        updated_at = now()
