-- The org rule, given the orgs in which the learner is enrolled for the course: the claimed
-- org when it is one of them, else the only one, else NULL. Ingestion fetches the candidates
-- for a whole group of events at once (a join); raw.resolve_org fetches them for one event.
CREATE OR REPLACE FUNCTION raw.pick_org(claimed text, enrolled_orgs text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN claimed = ANY(enrolled_orgs) THEN claimed
        WHEN cardinality(enrolled_orgs) = 1 THEN enrolled_orgs[1]
    END
$$;

CREATE OR REPLACE FUNCTION raw.resolve_org(claimed text, learner text, course text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT raw.pick_org(claimed, (
        SELECT array_agg(e.org_id) FROM raw.enrollments AS e
        WHERE e.user_token = learner AND e.course_id = course
    ))
$$;
