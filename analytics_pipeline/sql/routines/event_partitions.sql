-- Partitions of raw.analytics_events are created by this function, called by ingestion, so
-- no DDL lives in Python. IF NOT EXISTS does not see a partition another writer is creating
-- in a transaction not yet committed: this one waits for that transaction, then fails on the
-- name, which means the partition it wanted is there.
CREATE OR REPLACE FUNCTION raw.ensure_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS raw.%I PARTITION OF raw.analytics_events FOR VALUES FROM (%L) TO (%L)',
        'analytics_events_' || to_char(day, 'YYYYMMDD'), day, day + 1);
EXCEPTION WHEN duplicate_table OR unique_violation THEN
    NULL;
END;
$$;

-- Fresh statistics for a partition that just took in a bulk of events. Until autovacuum gets
-- to it, the planner takes a new partition for empty, and the incremental models' joins over
-- its rows turn into nested loops that run for minutes instead of a second. Only the columns
-- the models filter, join and group on: the properties' JSON took a third of the time, and
-- no plan reads its statistics (autovacuum's ANALYZE still covers every column).
CREATE OR REPLACE FUNCTION raw.analyze_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'ANALYZE raw.%I (org_id, user_token, course_id, lesson_id, session_id, event_type, '
        'occurred_at, received_date, received_at, client_event_id)',
        'analytics_events_' || to_char(day, 'YYYYMMDD'));
END;
$$;

-- Retention: a day's partition goes whole (detached, then dropped), never row by row.
CREATE OR REPLACE FUNCTION raw.drop_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'analytics_events_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(format('raw.%I', name)) IS NOT NULL THEN
        EXECUTE format('ALTER TABLE raw.analytics_events DETACH PARTITION raw.%I', name);
        EXECUTE format('DROP TABLE raw.%I', name);
    END IF;
END;
$$;

-- The received dates that have a partition, oldest first.
CREATE OR REPLACE FUNCTION raw.analytics_events_partition_days() RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT to_date(right(c.relname, 8), 'YYYYMMDD')
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'raw.analytics_events'::regclass
    ORDER BY 1
$$;
