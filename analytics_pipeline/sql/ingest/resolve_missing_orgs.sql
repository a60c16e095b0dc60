-- Events kept without an org, resolved again against the current enrollments; the batch
-- ledger's unresolved counts follow. Returns the received dates whose events changed.
WITH resolved AS (
    SELECT
        received_date, client_event_id, batch_id,
        raw.resolve_org(claimed_org_id, user_token, course_id) AS org_id
    FROM raw.analytics_events
    WHERE org_id IS NULL
),
updated AS (
    UPDATE raw.analytics_events AS e
    SET org_id = r.org_id
    FROM resolved AS r
    WHERE r.org_id IS NOT NULL AND e.org_id IS NULL  -- the partial index of unresolved events
        AND e.received_date = r.received_date AND e.client_event_id = r.client_event_id
    RETURNING e.received_date, e.batch_id, e.client_event_id, e.org_id
),
free_text AS (
    UPDATE raw.survey_free_text AS s
    SET org_id = u.org_id
    FROM updated AS u
    WHERE s.client_event_id = u.client_event_id
),
per_batch AS (
    SELECT received_date, batch_id, count(*) AS n FROM updated GROUP BY received_date, batch_id
),
ledger AS (
    UPDATE raw.analytics_event_batches AS b
    SET unresolved_org = b.unresolved_org - p.n
    FROM per_batch AS p
    WHERE b.received_date = p.received_date AND b.batch_id = p.batch_id
)
SELECT received_date, sum(n)::int AS resolved FROM per_batch GROUP BY received_date ORDER BY received_date
