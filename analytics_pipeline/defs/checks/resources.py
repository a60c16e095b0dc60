"""SLA thresholds, as resource config an operator can change in the launchpad or the code."""

import dagster as dg


class SlaResource(dg.ConfigurableResource):
    mart_freshness_seconds: int = 600
    ingest_lag_seconds: int = 120
    dead_letter_rate_max: float = 0.05
    dead_letter_window_days: int = 7
