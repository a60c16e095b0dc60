-- The org of each distinct (learner, course, claimed org) of a group's new events, in the
-- order given, by the one rule (raw.pick_org) over the orgs enrolling that learner in that
-- course: far fewer lookups than events, as a learner sends many.
SELECT raw.pick_org(c.claimed, enrolled.orgs)
FROM unnest(%(learners)b::text[], %(courses)b::text[], %(claimed)b::text[]) WITH ORDINALITY
        AS c (learner, course, claimed, position)
-- A LATERAL subquery per distinct claim: a CTE could not refer to c.
CROSS JOIN
    LATERAL (  -- noqa: ST05
        SELECT array_agg(e.org_id) AS orgs FROM raw.enrollments AS e
        WHERE e.user_token = c.learner AND e.course_id = c.course
    ) AS enrolled
ORDER BY c.position
