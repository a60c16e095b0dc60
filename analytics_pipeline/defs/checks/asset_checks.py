"""Asset checks: SLAs (freshness, ingest lag) and integrity (ids, conservation, tenancy).

Each check's metadata carries `figure` and `threshold`, which alerts quote.
"""

import dagster as dg

from analytics_pipeline.defs.checks.resources import SlaResource
from analytics_pipeline.defs.keys import BATCHES_KEY, PUBLISHED_KEY, RAW_EVENTS_KEY
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.monitoring.figures import (
    dead_letter_rate,
    event_id_integrity,
    ingest_lag,
    mart_freshness,
    unbalanced_batches,
)


@dg.asset_check(
    asset=PUBLISHED_KEY,
    description="The marts reflect ingested data within the freshness SLA (10 minutes by default). "
    "A quiet period with nothing newer to reflect is not a breach.",
)
def mart_freshness_check(database: PostgresResource, sla: SlaResource) -> dg.AssetCheckResult:
    with database.connect() as conn:
        fresh = mart_freshness(conn)
    stale = fresh.stale(sla.settings().mart_freshness_seconds)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "figure": round(fresh.age_seconds, 1) if fresh.age_seconds is not None else -1,
            "threshold": sla.settings().mart_freshness_seconds,
            "data_fresh_as_of": str(fresh.data_fresh_as_of),
            "newest_ingested_received_at": str(fresh.newest_received_at),
            "newer_data_waiting": fresh.behind,
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="No landed file waits longer than the ingest-lag SLA (2 minutes by default).",
)
def ingest_lag_check(database: PostgresResource, landing: LandingZoneResource, sla: SlaResource) -> dg.AssetCheckResult:
    with database.connect() as conn:
        lag = ingest_lag(conn, landing.path)
    return dg.AssetCheckResult(
        passed=lag.lag_seconds <= sla.settings().ingest_lag_seconds,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "figure": round(lag.lag_seconds, 1),
            "threshold": sla.settings().ingest_lag_seconds,
            "pending_files": lag.pending_files,
            "oldest_pending_file": lag.oldest_path or "none",
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Every clientEventId is stored once, and raw events and the id ledger agree.",
)
def client_event_id_unique_check(database: PostgresResource) -> dg.AssetCheckResult:
    with database.connect() as conn:
        figures = event_id_integrity(conn)
    return dg.AssetCheckResult(
        passed=not any(figures.values()),
        metadata={"figure": figures["duplicate_ids"], "threshold": 0, **figures},
    )


@dg.asset_check(
    asset=BATCHES_KEY,
    description="Per batch: lines = accepted + duplicates + dead-lettered, matching stored rows.",
)
def batch_conservation_check(database: PostgresResource) -> dg.AssetCheckResult:
    with database.connect() as conn:
        broken = unbalanced_batches(conn)
    return dg.AssetCheckResult(
        passed=not broken,
        metadata={
            "figure": len(broken),
            "threshold": 0,
            "unbalanced_batches": dg.MetadataValue.json([{k: str(v) for k, v in b.items()} for b in broken]),
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS_KEY,
    description="Share of landed lines dead-lettered over the recent received days stays under the limit.",
)
def dead_letter_rate_check(database: PostgresResource, sla: SlaResource) -> dg.AssetCheckResult:
    with database.connect() as conn:
        lines, dead = dead_letter_rate(conn, sla.settings().dead_letter_window_days)
    rate = dead / lines if lines else 0.0
    return dg.AssetCheckResult(
        passed=rate <= sla.settings().dead_letter_rate_max,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "figure": round(rate, 4),
            "threshold": sla.settings().dead_letter_rate_max,
            "lines": lines,
            "dead_lettered": dead,
        },
    )


sla_checks = [mart_freshness_check, ingest_lag_check]
integrity_checks = [client_event_id_unique_check, batch_conservation_check, dead_letter_rate_check]
# No mart row without an org is a PostgreSQL constraint (each mart's enforced dbt contract),
# held while the table is built: a check of it afterwards could never fail.
all_checks = [*sla_checks, *integrity_checks]
