-- The statement ids the xAPI statements resource has stored, each with a keyed digest of its
-- statement: a second statement under a stored id is answered 409 at once, and a repeat of
-- the same statement is acknowledged without landing it again.
CREATE TABLE raw.xapi_statements (
    statement_id uuid PRIMARY KEY,
    digest bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
