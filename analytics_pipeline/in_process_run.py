"""The main job: ingest what landed, roll it up, rebuild the marts, through Dagster.

Jobs execute in-process against the Dagster instance (DAGSTER_HOME), so every run,
materialization and dbt-test check is recorded where the Dagster UI shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psycopg
from psycopg.rows import dict_row
from tqdm import tqdm

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.db.urls import libpq_url
from analytics_pipeline.defs.automation.rules import (
    marts_behind,
    partitions_to_roll_up,
    pending_by_partition,
    unrecorded_ingests,
)
from analytics_pipeline.ingestion.reference import changed_snapshots
from analytics_pipeline.marts import MARTS

# Runs are recorded in the instance in full; the terminal only needs warnings and errors.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class RunSummary:
    reference_reloaded: bool = False
    partitions_run: list[str] = field(default_factory=list)
    skipped_partitions: list[str] = field(default_factory=list)
    marts_rebuilt: bool = False
    partitions: list[dict] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    insights: list[dict] = field(default_factory=list)

    @property
    def nothing_new(self) -> bool:
        return not (self.reference_reloaded or self.partitions_run)


def _execute(defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, partition_key: str | None = None):
    defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=partition_key, run_config=_QUIET, raise_on_error=True
    )


def run_pipeline(
    database_url: str,
    landing: Path,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    progress: Callable[[str], None] = lambda message: None,
) -> RunSummary:
    summary = RunSummary()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        changed = changed_snapshots(conn, landing)
        pending, summary.skipped_partitions = pending_by_partition(conn, landing)
        landed = sorted(set(pending) | unrecorded_ingests(conn, instance))
    if changed:
        progress(f"reference snapshots changed: {', '.join(sorted(changed))}")
        _execute(defs, "reference_job", instance)
        summary.reference_reloaded = True
    # Bars draw only on a terminal (disable=None), never into logs or pipes.
    for key in tqdm(landed, desc="partitions", unit="partition", disable=None):
        progress(f"ingesting partition {key}")
        _execute(defs, "ingest_partition_job", instance, partition_key=key)
        _execute(defs, "rollup_partition_job", instance, partition_key=key)
        summary.partitions_run.append(key)
    # What an earlier, interrupted run ingested but did not roll up, or did not publish.
    for key in sorted(partitions_to_roll_up(instance)):
        progress(f"rolling up partition {key}, left unfinished by an earlier run")
        _execute(defs, "rollup_partition_job", instance, partition_key=key)
        summary.partitions_run.append(key)
    if not summary.nothing_new or marts_behind(instance) is not None:
        progress("building dbt marts and insights")
        _execute(defs, "marts_job", instance)
        summary.marts_rebuilt = True
    with psycopg.connect(libpq_url(database_url), autocommit=True, row_factory=dict_row) as conn:
        summary.partitions = conn.execute(load_sql("report/partition_totals")).fetchall()
        summary.mart_rows = {
            name: conn.execute(f"SELECT count(*) AS n FROM marts.{name}").fetchone()["n"]
            for name in MARTS
            if conn.execute("SELECT to_regclass(%s) AS t", (f"marts.{name}",)).fetchone()["t"]
        }
        summary.insights = conn.execute(
            "SELECT org_id, summary, data_fresh_as_of FROM core.analytics_insights ORDER BY org_id"
        ).fetchall()
    return summary


def run_replay(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    reason: str | None = None,
    since: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[str]:
    """Replay dead letters, then re-run the rollups of every partition it changed and the
    marts. Returns those partitions."""
    config = {"ops": {"replay_dead_letters_op": {"config": {"reason": reason, "since": since}}}}
    result = defs.resolve_job_def("replay_dead_letters_job").execute_in_process(
        instance=instance, run_config={**config, **_QUIET}
    )
    partitions = sorted({m.partition for m in result.asset_materializations_for_node("replay_dead_letters_op")})
    for key in tqdm(partitions, desc="re-rolling partitions", unit="partition", disable=None):
        progress(f"rolling up partition {key} again")
        _execute(defs, "rollup_partition_job", instance, partition_key=key)
    if partitions:
        progress("building dbt marts and insights")
        _execute(defs, "marts_job", instance)
    return partitions


def format_summary(summary: RunSummary) -> str:
    lines = []
    if summary.nothing_new:
        lines.append("Nothing new landed: no run was needed, nothing changed.")
    else:
        lines.append(
            f"Ran {len(summary.partitions_run)} partition(s)"
            + (", reloaded reference snapshots" if summary.reference_reloaded else "")
            + (", rebuilt the marts" if summary.marts_rebuilt else "")
            + "."
        )
    if summary.skipped_partitions:
        lines.append(f"Skipped folders outside the partition range: {', '.join(summary.skipped_partitions)}")
    lines.append("")
    header = f"{'partition':<12}{'batches':>8}{'lines':>8}{'accepted':>10}{'dupes':>7}{'dead':>6}{'no org':>8}"
    lines += [header, "-" * len(header)]
    for row in summary.partitions:
        lines.append(
            f"{row['received_date'].isoformat():<12}{row['batches']:>8}{row['lines']:>8}{row['accepted']:>10}"
            f"{row['duplicates']:>7}{row['dead_lettered']:>6}{row['unresolved_org']:>8}"
        )
    lines.append("")
    lines.append("Marts: " + ", ".join(f"{name} {rows} rows" for name, rows in summary.mart_rows.items()))
    for insight in summary.insights:
        lines.append(f"  {insight['summary']}")
    fresh = max((i["data_fresh_as_of"] for i in summary.insights if i["data_fresh_as_of"]), default=None)
    lines.append(f"Data fresh as of: {fresh.isoformat() if fresh else 'no data yet'}")
    return "\n".join(lines)
