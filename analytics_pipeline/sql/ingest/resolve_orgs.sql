-- The org of each distinct (learner, course, claimed org, bound) of a group's new events, in
-- the order given, by the one rule (raw.pick_org) over the orgs enrolling that learner in that
-- course: far fewer lookups than events, as a learner sends many. `bound` events were posted
-- with a write key bound to the claimed org; `mismatch` is true for such an event that the
-- rule keeps out of every org.
SELECT
    picked.org_id,
    c.bound AND picked.org_id IS NULL AS mismatch
FROM unnest(%(learners)b::text[], %(courses)b::text[], %(claimed)b::text[], %(bound)b::boolean[])
    WITH ORDINALITY AS c (learner, course, claimed, bound, position)
-- LATERAL subqueries per distinct claim: a CTE could not refer to c.
CROSS JOIN
    LATERAL (  -- noqa: ST05
        SELECT array_agg(e.org_id) AS orgs FROM raw.enrollments AS e
        WHERE e.user_token = c.learner AND e.course_id = c.course
    ) AS enrolled
CROSS JOIN
    LATERAL (  -- noqa: ST05
        SELECT raw.pick_org(
            c.claimed, enrolled.orgs, c.bound,
            c.bound AND EXISTS (
                SELECT 1 FROM raw.enrollments AS o WHERE o.org_id = c.claimed AND o.course_id = c.course
            )
        ) AS org_id
    ) AS picked
ORDER BY c.position
