"""What `/metrics` shows, in one registry: the collector's counters, and the platform's own
health as gauges set from the pipeline status at each scrape (deploy/prometheus/alerts.yml
alerts on them; deploy/grafana/ charts them)."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from analytics_pipeline.web.status import PipelineStatus

GAUGES = {
    "analytics_database_up": "1 when the analytics database answered the last scrape, else 0",
    "analytics_ingest_lag_seconds": "Age of the oldest landed batch file not yet ingested; 0 when none waits",
    "analytics_pending_files": "Landed batch files not yet ingested",
    "analytics_marts_age_seconds": "Seconds since data_fresh_as_of, the newest receivedAt the marts reflect",
    "analytics_marts_behind": "1 when events newer than the marts reflect have been ingested, else 0",
    "analytics_dead_letter_ratio": "Share of landed lines dead-lettered over the last received days",
    "analytics_runs_failed_24h": "Dagster runs that failed in the last 24 hours",
}


class PipelineGauges:
    def __init__(self, registry: CollectorRegistry):
        self.gauges = {name: Gauge(name, text, registry=registry) for name, text in GAUGES.items()}

    def update(self, status: PipelineStatus | None) -> None:
        """Set every gauge from `status`; None (the database did not answer) leaves the
        pipeline's gauges unknown (NaN) rather than showing old values."""
        if status is None:
            values = dict.fromkeys(GAUGES, math.nan) | {"analytics_database_up": 0}
        else:
            fresh, lag = status.freshness, status.lag
            values = {
                "analytics_database_up": 1,
                "analytics_ingest_lag_seconds": lag.lag_seconds,
                "analytics_pending_files": lag.pending_files,
                "analytics_marts_age_seconds": math.nan if fresh.age_seconds is None else fresh.age_seconds,
                "analytics_marts_behind": int(fresh.behind),
                "analytics_dead_letter_ratio": status.dead_letter_ratio,
                "analytics_runs_failed_24h": status.runs_failed,
            }
        for name, value in values.items():
            self.gauges[name].set(value)


OUTCOMES = ("accepted", "duplicates", "failed")


class CollectorMetrics:
    """The collector's counters and the pipeline's gauges, one registry per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "collector_batch_requests", "Batch requests answered, by HTTP status", ["status"], registry=self.registry
        )
        self.events = Counter("collector_events", "Events answered, by outcome", ["outcome"], registry=self.registry)
        self.latency = Histogram("collector_batch_seconds", "Time to answer a batch request", registry=self.registry)
        self.reused_ids = Counter(
            "collector_event_ids_reused",
            "Events dropped as repeats although their content differs from the event first landed under their id"
            " (Caliper has no conflict status)",
            registry=self.registry,
        )
        # Series exist from the start, at 0: rates and the silent-collector alert need them.
        self.requests.labels("200")
        for outcome in OUTCOMES:
            self.events.labels(outcome)
        self.pipeline = PipelineGauges(self.registry)

    def scrape(self, status: PipelineStatus | None) -> bytes:
        self.pipeline.update(status)
        return generate_latest(self.registry)
