-- The current definition: sql/routines/org_resolution.sql, re-applied by every migrate.
-- The org an event belongs to, in one place for ingestion and for replays after the
-- enrollments snapshot changed: the claimed org when the learner is enrolled there for the
-- course, else the learner's single enrollment for the course, else NULL.
CREATE FUNCTION raw.resolve_org(claimed text, learner text, course text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT e.org_id FROM raw.enrollments AS e
         WHERE e.org_id = claimed AND e.user_token = learner AND e.course_id = course),
        (SELECT min(e.org_id) FROM raw.enrollments AS e
         WHERE e.user_token = learner AND e.course_id = course
         HAVING count(*) = 1)
    )
$$;
