INSERT INTO raw.retention_cutoffs (kind, before) VALUES (%(kind)s, %(before)s)
ON CONFLICT (kind) DO UPDATE SET before = greatest(raw.retention_cutoffs.before, excluded.before), applied_at = now()
