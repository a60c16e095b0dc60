INSERT INTO raw.reference_snapshots (name, sha256, row_count, loaded_at)
VALUES (%(name)s, %(sha256)s, %(row_count)s, now())
ON CONFLICT (name) DO UPDATE
    SET sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count, loaded_at = EXCLUDED.loaded_at
