-- Erasure of a learner on request (GDPR, FERPA). The tombstone keeps a replay or a re-landed
-- file from bringing the learner back; the audit records who asked, when and how many rows
-- went. Both name the learner by token only, never by the clear id.
CREATE TABLE raw.erased_learners (
    user_token text NOT NULL,
    org_id text NOT NULL DEFAULT '',  -- '': every org
    erased_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_token, org_id)
);

CREATE TABLE access.learner_erasures (
    erasure_id bigserial PRIMARY KEY,
    user_token text NOT NULL,
    org_id text,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    rows_removed jsonb NOT NULL
);

-- A batch's erased events leave the stored count; the ledger still adds up to its lines.
ALTER TABLE raw.analytics_event_batches
ADD COLUMN erased integer NOT NULL DEFAULT 0,
DROP CONSTRAINT batch_conservation,
ADD CONSTRAINT batch_conservation CHECK (lines = accepted + duplicates + dead_lettered + erased);
