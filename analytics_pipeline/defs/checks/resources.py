"""SLA thresholds, as resource config an operator can change in the launchpad or the code."""

import dagster as dg

from analytics_pipeline.monitoring.sla import (
    DEAD_LETTER_RATE_MAX,
    DEAD_LETTER_WINDOW_DAYS,
    INGEST_LAG_SECONDS,
    MART_FRESHNESS_SECONDS,
)


class SlaResource(dg.ConfigurableResource):
    mart_freshness_seconds: int = MART_FRESHNESS_SECONDS
    ingest_lag_seconds: int = INGEST_LAG_SECONDS
    dead_letter_rate_max: float = DEAD_LETTER_RATE_MAX
    dead_letter_window_days: int = DEAD_LETTER_WINDOW_DAYS
