"""`analytics-pipeline status`: ingest lag, freshness and the latest check results per asset."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from analytics_pipeline.db.connection import connect
from analytics_pipeline.monitoring.figures import ingest_lag, mart_freshness


def status_report(database_url: str, landing: Path, instance: dg.DagsterInstance, defs: dg.Definitions) -> dict:
    with connect(database_url, autocommit=False) as conn:
        lag = ingest_lag(conn, landing)
        fresh = mart_freshness(conn)
    keys = list(defs.resolve_asset_graph().asset_check_keys)
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    checks: dict[str, list[dict]] = {}
    for key in sorted(keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        record = latest.get(key)
        checks.setdefault(key.asset_key.to_user_string(), []).append(
            {
                "check": key.name,
                "result": _result(record),
                "at": datetime.fromtimestamp(record.create_timestamp, UTC).isoformat(timespec="seconds")
                if record
                else None,
            }
        )
    return {"ingest_lag": lag, "freshness": fresh, "checks": checks}


def _result(record) -> str:
    if record is None:
        return "never run"
    evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
    if not isinstance(evaluation, dg.AssetCheckEvaluation):
        # Planned in a run that has not reported (still running, or stopped before it could).
        return f"no result yet ({record.status.value.lower()})"
    return "passed" if evaluation.passed else f"FAILED ({evaluation.severity.value})"


def format_status(report: dict) -> str:
    lag, fresh = report["ingest_lag"], report["freshness"]
    lines = [
        f"Ingest lag: {lag.lag_seconds:.0f} s ({lag.pending_files} file(s) waiting"
        + (f", oldest {lag.oldest_path}" if lag.oldest_path else "")
        + ")",
        f"Marts fresh as of: {fresh.data_fresh_as_of or 'never built'}"
        + (f" ({fresh.age_seconds:.0f} s ago)" if fresh.age_seconds is not None else "")
        + ("; newer data is waiting" if fresh.behind else "; nothing newer ingested"),
        "",
    ]
    for asset, checks in report["checks"].items():
        lines.append(asset)
        lines += [f"  {c['check']:<60} {c['result']:<18} {c['at'] or ''}" for c in checks]
    return "\n".join(lines)
