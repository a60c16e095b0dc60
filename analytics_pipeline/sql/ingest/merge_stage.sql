-- Dedupe the staged files of one partition against the event-id ledger, resolve each event's
-- org, and write it. Returns (batch_id, accepted, unresolved_org) for each file with an
-- accepted event: every row of `resolved` is inserted (a data-modifying CTE runs whether or
-- not anything reads it).
WITH first_in_group AS (
    -- A client retry inside the group: the first file, then the first line, wins.
    SELECT DISTINCT ON (client_event_id) *
    FROM pg_temp.stage_events
    ORDER BY client_event_id, batch_seq, line_no
),
new_ids AS (
    -- Ids seen in an earlier batch or day conflict here and are dropped as duplicates.
    INSERT INTO raw.analytics_event_ids (client_event_id, received_date, batch_id)
    SELECT client_event_id, %(received_date)s, batch_id FROM first_in_group
    ON CONFLICT (client_event_id) DO NOTHING
    RETURNING client_event_id
),
candidate_orgs AS (
    -- Per (learner, course) of the group, the orgs enrolling it: one join for the group,
    -- not two index probes per event.
    SELECT e.user_token, e.course_id, array_agg(e.org_id) AS orgs
    FROM raw.enrollments AS e
    WHERE (e.user_token, e.course_id) IN (SELECT user_token, course_id FROM first_in_group)
    GROUP BY e.user_token, e.course_id
),
resolved AS (
    SELECT f.*, raw.pick_org(f.claimed_org_id, c.orgs) AS org_id
    FROM first_in_group AS f
    JOIN new_ids USING (client_event_id)
    LEFT JOIN candidate_orgs AS c USING (user_token, course_id)
),
inserted AS (
    INSERT INTO raw.analytics_events (
        received_date, client_event_id, event_type, occurred_at, received_at, user_token,
        org_id, claimed_org_id, course_id, lesson_id, session_id, properties, batch_id, line_no
    )
    SELECT %(received_date)s, client_event_id, event_type, occurred_at, received_at, user_token,
           org_id, claimed_org_id, course_id, lesson_id, session_id, properties::jsonb, batch_id, line_no
    FROM resolved
),
survey_text AS (
    INSERT INTO raw.survey_free_text (client_event_id, received_date, org_id, course_id, user_token, free_text)
    SELECT client_event_id, %(received_date)s, org_id, course_id, user_token, free_text
    FROM resolved
    WHERE free_text IS NOT NULL
)
SELECT batch_id, count(*) AS accepted, count(*) FILTER (WHERE org_id IS NULL) AS unresolved_org
FROM resolved
GROUP BY batch_id
