-- Forget one learner (every org, or one): their events and the id ledger's entries for them,
-- their survey free text, their directory entry (when forgotten everywhere), their progress and their rows in every intermediate and mart table,
-- in one transaction; the excerpts of dead letters that name them are blanked. The batches
-- that held their events count them as erased; those and the batches of the same org-days are
-- marked ingested now, so the automation rolls those days up again and rebuilds the marts
-- without the learner. The clear id is read only to find dead-letter excerpts; it is not kept.
-- SECURITY DEFINER, callable by platform admins alone: a tenant role is refused by PostgreSQL.
CREATE OR REPLACE FUNCTION access.erase_learner(
    learner_token text, learner_id text, org text, requested_by text
) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    removed jsonb := '{}';
    affected bigint;
    target record;
    escaped text := replace(replace(replace(learner_id, '\', '\\'), '%', '\%'), '_', '\_');
BEGIN
    INSERT INTO raw.erased_learners (user_token, org_id) VALUES (learner_token, coalesce(org, ''))
    ON CONFLICT DO NOTHING;

    -- Figures kept per org and day with no learner in them: partials per received date (such
    -- as int_survey_ratings), and figures per activity day (org_engagement_daily; the staging
    -- view defines the day). Their rows for the learner's days go. Every received date with
    -- events on those activity days is marked changed (the learner's own received dates are,
    -- below), so the rebuild recomputes each day whole, or leaves it out if nothing else
    -- happened on it.
    DROP TABLE IF EXISTS pg_temp.erased_received_date, pg_temp.erased_activity_date;
    CREATE TEMPORARY TABLE erased_received_date ON COMMIT DROP AS
    SELECT DISTINCT e.org_id, e.received_date AS day FROM raw.analytics_events AS e
    WHERE e.user_token = learner_token AND e.org_id IS NOT NULL AND (org IS NULL OR e.org_id = org);
    IF to_regclass('staging.stg_analytics_events') IS NOT NULL THEN
        CREATE TEMPORARY TABLE erased_activity_date ON COMMIT DROP AS
        SELECT DISTINCT s.org_id, s.activity_date AS day FROM staging.stg_analytics_events AS s
        WHERE s.user_token = learner_token AND s.org_id IS NOT NULL AND (org IS NULL OR s.org_id = org);
        UPDATE raw.analytics_event_batches AS b SET ingested_at = now()
        WHERE b.received_date IN (
            SELECT s.received_date FROM staging.stg_analytics_events AS s
            INNER JOIN pg_temp.erased_activity_date AS d ON d.org_id = s.org_id AND d.day = s.activity_date
        );
    END IF;
    FOR target IN
        SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c
        JOIN information_schema.tables AS t USING (table_schema, table_name)
        WHERE c.column_name IN ('received_date', 'activity_date') AND t.table_type = 'BASE TABLE'
            AND c.table_schema IN ('intermediate', 'marts')
            AND to_regclass('pg_temp.erased_' || c.column_name) IS NOT NULL
            AND NOT EXISTS (
                SELECT 1 FROM information_schema.columns AS u
                WHERE u.table_schema = c.table_schema AND u.table_name = c.table_name
                    AND u.column_name = 'user_token'
            )
    LOOP
        EXECUTE format(
            'DELETE FROM %I.%I AS m USING pg_temp.%I AS d WHERE m.org_id = d.org_id AND m.%I = d.day',
            target.table_schema, target.table_name, 'erased_' || target.column_name, target.column_name
        );
    END LOOP;

    WITH gone AS (
        DELETE FROM raw.analytics_events AS e
        WHERE e.user_token = learner_token AND (org IS NULL OR e.org_id = org)
        RETURNING e.received_date, e.batch_id, e.client_event_id
    ), ledger AS (
        DELETE FROM raw.analytics_event_ids AS i USING gone AS g WHERE i.client_event_id = g.client_event_id
    ), per_batch AS (
        SELECT g.received_date, g.batch_id, count(*) AS n FROM gone AS g GROUP BY g.received_date, g.batch_id
    ), batches AS (
        UPDATE raw.analytics_event_batches AS b
        SET accepted = b.accepted - p.n, erased = b.erased + p.n, ingested_at = now()
        FROM per_batch AS p WHERE b.received_date = p.received_date AND b.batch_id = p.batch_id
    )
    SELECT count(*) INTO affected FROM gone;
    removed := removed || jsonb_build_object('raw.analytics_events', affected);

    DELETE FROM raw.survey_free_text AS f WHERE f.user_token = learner_token AND (org IS NULL OR f.org_id = org);
    GET DIAGNOSTICS affected = ROW_COUNT;
    removed := removed || jsonb_build_object('raw.survey_free_text', affected);

    -- The directory entry is the learner's everywhere: it goes when they are erased everywhere
    -- (erased from one org, the directory's read leaves them out for that org).
    IF org IS NULL THEN
        DELETE FROM raw.learner_directory AS d WHERE d.user_token = learner_token;
        GET DIAGNOSTICS affected = ROW_COUNT;
        removed := removed || jsonb_build_object('raw.learner_directory', affected);
    END IF;

    IF learner_id IS NOT NULL THEN
        UPDATE raw.analytics_dead_letters AS d SET excerpt = ''
        WHERE d.excerpt LIKE '%"userId":"' || escaped || '"%' OR d.excerpt LIKE '%"userId": "' || escaped || '"%';
        GET DIAGNOSTICS affected = ROW_COUNT;
        removed := removed || jsonb_build_object('raw.analytics_dead_letters (excerpts blanked)', affected);
    END IF;

    FOR target IN
        SELECT c.table_schema, c.table_name FROM information_schema.columns AS c
        JOIN information_schema.tables AS t USING (table_schema, table_name)
        WHERE c.column_name = 'user_token' AND t.table_type = 'BASE TABLE'
            AND c.table_schema IN ('core', 'intermediate', 'marts')
        ORDER BY c.table_schema, c.table_name
    LOOP
        EXECUTE format(
            'DELETE FROM %I.%I WHERE user_token = $1 AND ($2::text IS NULL OR org_id = $2)',
            target.table_schema, target.table_name
        ) USING learner_token, org;
        GET DIAGNOSTICS affected = ROW_COUNT;
        removed := removed || jsonb_build_object(target.table_schema || '.' || target.table_name, affected);
    END LOOP;

    INSERT INTO access.learner_erasures (user_token, org_id, requested_by, rows_removed)
    VALUES (learner_token, org, requested_by, removed);
    RETURN removed;
END
$$;

REVOKE ALL ON FUNCTION access.erase_learner(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION access.erase_learner(text, text, text, text) TO analytics_platform_admin;
