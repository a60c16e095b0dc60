-- Validated, tokenized rows of a group of batch files, before dedupe and org resolution.
CREATE TEMP TABLE stage_events (
    batch_seq       integer     NOT NULL,  -- the file's place in the group: earlier files win
    batch_id        text        NOT NULL,
    line_no         integer     NOT NULL,
    client_event_id uuid        NOT NULL,
    event_type      text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    user_token      text        NOT NULL,
    claimed_org_id  text,
    course_id       text        NOT NULL,
    lesson_id       text,
    session_id      text,
    properties      text        NOT NULL,  -- JSON text: the merge casts it (a binary COPY would take jsonb JSON-encoded again)
    free_text       text
) ON COMMIT DROP;

-- The merge sorts the group twice (by event id to dedupe, by learner to resolve orgs): in
-- memory rather than through temp files.
SET LOCAL work_mem = '64MB'
