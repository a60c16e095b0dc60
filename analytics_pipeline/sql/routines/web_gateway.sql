-- What the web login role (analytics_web) may do without switching into a tenant role: look
-- up a presented credential by its digest, ask which event ids the ledger holds, and read the
-- pipeline's own freshness and batch figures. SECURITY DEFINER with a fixed search_path; no
-- function here returns a tenant's rows.

-- Batch files already dealt with: ingested (batch ledger) or set aside (quarantine).
-- A NULL day means every partition; NULL batch_ids every batch. Given batch_ids are looked
-- up within the given day.
CREATE OR REPLACE FUNCTION web.handled_batches(day date, batch_ids text[])
RETURNS TABLE (received_date date, batch_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF batch_ids IS NULL THEN
        RETURN QUERY
            SELECT b.received_date, b.batch_id FROM raw.analytics_event_batches AS b
            WHERE day IS NULL OR b.received_date = day
            UNION ALL
            SELECT q.received_date, q.batch_id FROM raw.analytics_quarantined_files AS q
            WHERE day IS NULL OR q.received_date = day;
    ELSE
        -- Each file looked up by its key: a filter `batch_id = ANY(...)` compared every file
        -- of the day with every file asked about, for each group an ingest writes.
        RETURN QUERY
            SELECT b.received_date, b.batch_id
            FROM unnest(batch_ids) AS asked (batch_id)
            INNER JOIN raw.analytics_event_batches AS b
                ON b.received_date = day AND asked.batch_id = b.batch_id
            UNION ALL
            SELECT q.received_date, q.batch_id
            FROM unnest(batch_ids) AS asked (batch_id)
            INNER JOIN raw.analytics_quarantined_files AS q
                ON q.received_date = day AND asked.batch_id = q.batch_id;
    END IF;
END
$$;

-- Freshness, defined once: data_fresh_as_of is the newest receivedAt the marts reflect;
-- newest_received_at the newest one ingested with an org, which the next build will reflect.
CREATE OR REPLACE FUNCTION web.marts_freshness(OUT data_fresh_as_of timestamptz, OUT newest_received_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    SELECT max(b.max_received_at) INTO newest_received_at
    FROM raw.analytics_event_batches AS b WHERE b.accepted > b.unresolved_org;
    -- Before the first dbt build the mart does not exist yet.
    IF to_regclass('marts.org_engagement_daily') IS NOT NULL THEN
        EXECUTE 'SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily' INTO data_fresh_as_of;
    END IF;
END
$$;

-- Landed lines and dead-lettered lines over the last `days` received days with data.
CREATE OR REPLACE FUNCTION web.dead_letter_rate(days integer)
RETURNS TABLE (lines bigint, dead_lettered bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(sum(b.lines), 0)::bigint, coalesce(sum(b.dead_lettered), 0)::bigint
    FROM raw.analytics_event_batches AS b
    WHERE b.received_date > (SELECT max(l.received_date) FROM raw.analytics_event_batches AS l) - days
$$;

CREATE OR REPLACE FUNCTION web.runs_failed_since(since timestamptz) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM raw.run_failures AS f WHERE f.failed_at >= since
$$;

CREATE OR REPLACE FUNCTION web.known_event_ids(ids uuid[]) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT i.client_event_id FROM raw.analytics_event_ids AS i WHERE i.client_event_id = ANY(ids)
$$;

-- The one definition of the roles a credential may name: those `access create-role` made,
-- as long as none has since been given powers beyond a tenant's.
CREATE OR REPLACE FUNCTION web.may_act_as(role text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT EXISTS (
        SELECT 1 FROM access.analytics_roles AS a
        INNER JOIN pg_roles AS r ON r.rolname = a.role_name
        WHERE a.role_name = role AND NOT (r.rolsuper OR r.rolcreaterole OR r.rolbypassrls)
    )
$$;

CREATE OR REPLACE FUNCTION web.start_session(
    digest bytea, role text, credential text, token text, idle_seconds integer, expires_at timestamptz
) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    -- Sessions long over are let go as new ones start.
    DELETE FROM access.dashboard_sessions AS s WHERE s.expires_at < now() - interval '1 day';
    INSERT INTO access.dashboard_sessions (session_hash, role_name, credential, token_id, idle_seconds, expires_at)
    VALUES (digest, role, credential, token, idle_seconds, expires_at);
$$;

-- The live session a cookie's digest names, seen now; nothing for one that has ended.
CREATE OR REPLACE FUNCTION web.touch_session(digest bytea)
RETURNS TABLE (role_name text, credential text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE access.dashboard_sessions AS s SET last_seen_at = now()
    WHERE s.session_hash = digest
        AND s.ended_at IS NULL
        AND s.expires_at > now()
        AND s.last_seen_at > now() - make_interval(secs => s.idle_seconds)
        AND (s.token_id IS NULL OR EXISTS (
            SELECT 1 FROM access.api_tokens AS t
            WHERE t.token_id = s.token_id AND t.revoked_at IS NULL AND t.expires_at > now()
        ))
    RETURNING s.role_name, s.credential
$$;

CREATE OR REPLACE FUNCTION web.end_session(digest bytea) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE access.dashboard_sessions AS s SET ended_at = now() WHERE s.session_hash = digest AND s.ended_at IS NULL
$$;

CREATE OR REPLACE FUNCTION web.find_token(digest bytea)
RETURNS TABLE (token_id text, role_name text, expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT t.token_id, t.role_name, t.expires_at, t.revoked_at FROM access.api_tokens AS t
    WHERE t.token_hash = digest
$$;

CREATE OR REPLACE FUNCTION web.find_write_key(digest bytea)
RETURNS TABLE (key_id text, org_id text, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT k.key_id, k.org_id, k.revoked_at FROM access.write_keys AS k WHERE k.key_hash = digest
$$;

-- Records statement ids with their digests (xAPI statements', and Caliper events', whose ids
-- are UUIDs too), in the caller's transaction (which a conflict rolls back). Each id comes back with whether its stored statement differs (a conflict) and
-- whether it was stored before. The second query is a statement of its own so that it sees
-- an id a concurrent request committed while this insert waited for it.
CREATE OR REPLACE FUNCTION web.record_statements(ids uuid[], digests bytea[])
RETURNS TABLE (statement_id uuid, conflict boolean, repeated boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    fresh uuid[];
BEGIN
    WITH inserted AS (
        INSERT INTO raw.xapi_statements AS x (statement_id, digest)
        SELECT s.id, s.digest FROM unnest(ids, digests) AS s (id, digest)
        ON CONFLICT ON CONSTRAINT xapi_statements_pkey DO NOTHING
        RETURNING x.statement_id
    )
    SELECT coalesce(array_agg(inserted.statement_id), '{}') INTO fresh FROM inserted;
    RETURN QUERY
    SELECT s.id, x.digest <> s.digest, NOT s.id = ANY(fresh)
    FROM unnest(ids, digests) AS s (id, digest)
    JOIN raw.xapi_statements AS x ON x.statement_id = s.id;
END
$$;

-- The landing folders settled (ingestion/settled_folders.py): the ingest-lag figures of the
-- health endpoint and the metrics list only the others.
CREATE OR REPLACE FUNCTION web.settled_landing_folders()
RETURNS TABLE (received_date date, modified_ns bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.received_date, s.modified_ns FROM raw.settled_landing_folders AS s
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA web FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA web TO analytics_web;
