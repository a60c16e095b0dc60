-- The org rule, given the orgs in which the learner is enrolled for the course.
-- An event posted with a write key bound to an org (`bound`, the claimed org being the key's)
-- belongs to that org or to none: to it when the learner is enrolled there or the org offers
-- the course (`claimed_offers_course`: it enrolls someone in it), else to none, and ingestion
-- dead-letters it (org_mismatch). Any other event: the claimed org when it is one of the
-- learner's, else the only one, else NULL (kept without an org, resolved again later).
-- Ingestion fetches the candidates for a whole group of events at once (a join);
-- raw.resolve_org fetches them for one unbound event.
DROP FUNCTION IF EXISTS raw.pick_org(text, text[]);

CREATE OR REPLACE FUNCTION raw.pick_org(
    claimed text, enrolled_orgs text[], bound boolean, claimed_offers_course boolean
) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN bound THEN
            CASE WHEN claimed = ANY(enrolled_orgs) OR claimed_offers_course THEN claimed END
        WHEN claimed = ANY(enrolled_orgs) THEN claimed
        WHEN cardinality(enrolled_orgs) = 1 THEN enrolled_orgs[1]
    END
$$;

CREATE OR REPLACE FUNCTION raw.resolve_org(claimed text, learner text, course text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT raw.pick_org(claimed, (
        SELECT array_agg(e.org_id) FROM raw.enrollments AS e
        WHERE e.user_token = learner AND e.course_id = course
    ), false, false)
$$;
