"""The service levels, in one place: the asset checks, the admin API and the dashboard judge
freshness and ingest lag by these defaults (an operator may change the checks' copy in the
`sla` resource's config)."""

MART_FRESHNESS_SECONDS = 600
INGEST_LAG_SECONDS = 120
DEAD_LETTER_RATE_MAX = 0.05
DEAD_LETTER_WINDOW_DAYS = 7
