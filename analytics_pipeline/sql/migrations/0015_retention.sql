-- What the retention schedule last let go, per kind of data: days before `before` are gone
-- (dropped partitions, deleted ids or dead letters), so the ledger checks judge only the days
-- after it and the automation leaves the expired days alone.
CREATE TABLE raw.retention_cutoffs (
    kind text PRIMARY KEY CHECK (kind IN ('events', 'event_ids', 'dead_letters')),
    before date NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
