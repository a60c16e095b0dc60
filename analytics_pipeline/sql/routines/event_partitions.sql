-- Partitions of raw.analytics_events are created by this function, called by ingestion, so
-- no DDL lives in Python.
CREATE OR REPLACE FUNCTION raw.ensure_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS raw.%I PARTITION OF raw.analytics_events FOR VALUES FROM (%L) TO (%L)',
        'analytics_events_' || to_char(day, 'YYYYMMDD'), day, day + 1);
END;
$$;

-- Fresh statistics for a partition that just took in a bulk of events. Until autovacuum gets
-- to it, the planner takes a new partition for empty, and the incremental models' joins over
-- its rows turn into nested loops that run for minutes instead of a second.
CREATE OR REPLACE FUNCTION raw.analyze_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ANALYZE raw.%I', 'analytics_events_' || to_char(day, 'YYYYMMDD'));
END;
$$;
