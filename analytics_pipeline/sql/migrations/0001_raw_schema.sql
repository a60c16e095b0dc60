-- Landed data: reference snapshots, events, ledgers and dead letters.
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE raw.organizations (
    org_id text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE raw.courses (
    course_id text PRIMARY KEY,
    title text NOT NULL
);

CREATE TABLE raw.lessons (
    lesson_id text PRIMARY KEY,
    course_id text NOT NULL,
    position integer NOT NULL CHECK (position >= 1),
    title text,
    kind text,
    duration_seconds integer,
    UNIQUE (course_id, position)
);

-- user_token is the keyed HMAC of the LMS user id: no clear learner id is stored.
CREATE TABLE raw.enrollments (
    org_id text NOT NULL,
    user_token text NOT NULL,
    course_id text NOT NULL,
    assigned_at timestamptz,
    due_at timestamptz,
    PRIMARY KEY (org_id, user_token, course_id)
);
CREATE INDEX enrollments_user_course ON raw.enrollments (user_token, course_id);

-- One row per reference file: lets a run skip reloading an unchanged snapshot.
CREATE TABLE raw.reference_snapshots (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    row_count integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- Declaratively partitioned by received date: a partition run touches one table, old days
-- can be detached or dropped whole.
CREATE TABLE raw.analytics_events (
    received_date date NOT NULL,
    client_event_id uuid NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    user_token text NOT NULL,
    org_id text,
    claimed_org_id text,
    course_id text NOT NULL,
    lesson_id text,
    session_id text,
    properties jsonb NOT NULL DEFAULT '{}'::jsonb,
    batch_id text NOT NULL,
    line_no integer NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (received_date, client_event_id)
) PARTITION BY RANGE (received_date);
CREATE INDEX analytics_events_learner ON raw.analytics_events (org_id, user_token, course_id);

-- The current definition: sql/routines/event_partitions.sql, re-applied by every migrate.
-- Partitions are created by this function, called by ingestion, so no DDL lives in Python.
CREATE FUNCTION raw.ensure_analytics_events_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS raw.%I PARTITION OF raw.analytics_events FOR VALUES FROM (%L) TO (%L)',
        'analytics_events_' || to_char(day, 'YYYYMMDD'), day, day + 1);
END;
$$;

-- The event-id ledger: one row per clientEventId ever accepted, whatever the day. Its primary
-- key is what makes ingestion idempotent across batches and days.
CREATE TABLE raw.analytics_event_ids (
    client_event_id uuid PRIMARY KEY,
    received_date date NOT NULL,
    batch_id text NOT NULL
);

-- The batch ledger: a row is written in the same transaction as the batch's events, so a
-- batch is either wholly ingested (and listed here) or not at all.
CREATE TABLE raw.analytics_event_batches (
    received_date date NOT NULL,
    batch_id text NOT NULL,
    landing_path text NOT NULL,
    lines integer NOT NULL,
    accepted integer NOT NULL,
    duplicates integer NOT NULL,
    dead_lettered integer NOT NULL,
    unresolved_org integer NOT NULL,
    max_received_at timestamptz,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (received_date, batch_id),
    CONSTRAINT batch_conservation CHECK (lines = accepted + duplicates + dead_lettered)
);

-- Invalid lines with a precise reason, a pointer back to the landing file and line, and a
-- redacted excerpt (never the clear payload).
CREATE TABLE raw.analytics_dead_letters (
    received_date date NOT NULL,
    batch_id text NOT NULL,
    line_no integer NOT NULL,
    landing_path text NOT NULL,
    reason_code text NOT NULL,
    reason text NOT NULL,
    excerpt text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    PRIMARY KEY (received_date, batch_id, line_no)
);

-- Survey free text (scrubbed of e-mail addresses and the learner's name) is kept apart from
-- the events so that only privileged roles can be granted it.
CREATE TABLE raw.survey_free_text (
    client_event_id uuid PRIMARY KEY,
    received_date date NOT NULL,
    org_id text,
    course_id text NOT NULL,
    user_token text NOT NULL,
    free_text text NOT NULL
);
