-- Which migrations this database has had, and when.
CREATE TABLE IF NOT EXISTS public.analytics_schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
