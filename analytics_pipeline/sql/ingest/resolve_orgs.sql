-- The org of each distinct (learner, course, claimed org, bound) of a group's new events, in
-- the order given, by the one rule (raw.pick_org) over the orgs enrolling that learner in that
-- course: far fewer lookups than events, as a learner sends many. `bound` events were posted
-- with a write key bound to the claimed org; `mismatch` is true for such an event that the
-- rule keeps out of every org. The claims come as one JSON array of those four values: psycopg
-- would dump four arrays element by element in Python.
SELECT
    picked.org_id,
    c.bound AND picked.org_id IS NULL AS mismatch
FROM jsonb_array_elements(%(claims)s::jsonb) WITH ORDINALITY AS claim (value, position)
-- LATERAL subqueries per distinct claim: a CTE could not refer to it.
CROSS JOIN
    LATERAL (  -- noqa: ST05
        SELECT
            claim.value ->> 0 AS learner,
            claim.value ->> 1 AS course,
            claim.value ->> 2 AS claimed,
            (claim.value ->> 3)::boolean AS bound
    ) AS c
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
ORDER BY claim.position
