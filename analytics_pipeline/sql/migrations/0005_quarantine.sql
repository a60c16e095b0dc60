-- Files that cannot be read at all (a corrupt or truncated gzip): set aside whole, with the
-- reason, so they neither crash a run nor stay pending forever. Their lines were never
-- counted, so no batch-ledger row exists for them.
CREATE TABLE raw.analytics_quarantined_files (
    received_date date NOT NULL,
    batch_id text NOT NULL,
    landing_path text NOT NULL,
    reason text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (received_date, batch_id)
);
