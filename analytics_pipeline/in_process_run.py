"""`analytics-pipeline run`: the graph executed in-process through Dagster, following the
automation rules (defs/automation/rules.py) the daemon follows: reload what changed, ingest
and roll up what landed, roll up every partition still behind its ingestion, rebuild the
marts if behind.

Jobs execute in-process against the Dagster instance (DAGSTER_HOME), so every run,
materialization and dbt-test check is recorded where the Dagster UI shows it. Consecutive
days are one run (and one dbt invocation) over their range.

A run names the process executing it. A process killed mid-run leaves its run STARTED and,
in a dbt step on an instance whose pools are held at the step (production's), that pool's
slot taken, which would keep every later dbt build waiting: the next executor on the host
fails such a run and frees its slots before it runs anything, as the daemon's run
monitoring does for the runs it launched.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import dagster as dg
import psutil
from psycopg.rows import dict_row

from analytics_pipeline.db.connection import connect
from analytics_pipeline.db.dagster_storage import keep_connections
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.defs.automation.rules import (
    marts_behind,
    partitions_to_roll_up,
    pending_by_partition,
    rolled_up_ever,
    unrecorded_ingests,
)
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.ingestion.reference import changed_snapshots
from analytics_pipeline.marts import MARTS

# Runs are recorded in the instance in full; unless asked to be verbose, the console logger
# (on stderr) shows warnings and errors only.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
PROCESS_TAG = "analytics/process"


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


def pool_storage_connections(instance: dg.DagsterInstance) -> dg.DagsterInstance:
    """`instance` keeping a connection to Dagster's storage open, whatever its dagster.yaml
    says (an operator's DAGSTER_HOME included): a run in this process records hundreds of
    events, each over a new connection otherwise."""
    keep_connections(instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    return instance


@contextmanager
def local_instance() -> Iterator[dg.DagsterInstance]:
    """The Dagster instance (DAGSTER_HOME) that jobs executed in this process record to."""
    with dg.DagsterInstance.get() as instance:
        yield pool_storage_connections(instance)


def this_process() -> str:
    """This process as no other has been or will be named on this host: its start time
    tells it from a later process given the same pid."""
    process = psutil.Process()
    return f"{socket.gethostname()}/{process.pid}/{process.create_time():.0f}"


def _gone(process: str) -> bool:
    host, pid, started = process.rsplit("/", 2)
    if host != socket.gethostname():
        return False  # another host's process: it cannot be seen from here
    try:
        return f"{psutil.Process(int(pid)).create_time():.0f}" != started
    except psutil.NoSuchProcess:
        return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the in-process runs whose process is gone, freeing the pool slots they held;
    returns their ids."""
    abandoned = [
        run
        for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if PROCESS_TAG in run.tags and _gone(run.tags[PROCESS_TAG])
    ]
    for run in abandoned:
        instance.report_run_failed(run, f"its process ({run.tags[PROCESS_TAG]}) ended without finishing it")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in abandoned]


def day_ranges(keys: set[str]) -> list[tuple[str, str]]:
    """Consecutive days as (first, last) ranges, in order."""
    ranges: list[list[date]] = []
    for day in sorted(date.fromisoformat(key) for key in keys):
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(first.isoformat(), last.isoformat()) for first, last in ranges]


@dataclass
class Executor:
    """Runs jobs in-process. Given a `log`, dbt's output (which dagster-dbt writes to stdout)
    goes there and Dagster's console shows only warnings, so the terminal shows the summary;
    without one (verbose), both show in full."""

    defs: dg.Definitions
    instance: dg.DagsterInstance
    log: TextIO | None = None

    def __post_init__(self) -> None:
        release_abandoned_runs(self.instance)

    @property
    def verbose(self) -> bool:
        return self.log is None

    def __call__(
        self, job_name: str, partition_key: str | None = None, tags: dict | None = None, run_config: dict | None = None
    ) -> dg.ExecuteInProcessResult:
        with redirect_stdout(self.log) if self.log else nullcontext():
            return self.defs.resolve_job_def(job_name).execute_in_process(
                instance=self.instance,
                partition_key=partition_key,
                tags={**(tags or {}), PROCESS_TAG: this_process()},
                run_config={**(run_config or {}), **({} if self.verbose else _QUIET)},
                raise_on_error=True,
            )

    def per_range(self, job_name: str, partitions: set[str], progress: Callable[[str], None], doing: str) -> None:
        """One run of `job_name` per range of consecutive days in `partitions`."""
        for first, last in day_ranges(partitions):
            progress(f"{doing} {first}" + (f" to {last}" if last != first else ""))
            self(
                job_name, tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
            )

    def roll_up(self, partitions: set[str], progress: Callable[[str], None]) -> None:
        self.per_range("rollup_partition_job", partitions, progress, "rolling up")


def run_pipeline(
    database_url: str,
    landing: Path,
    execute: Executor,
    progress: Callable[[str], None] = lambda message: None,
    reload_reference: bool = True,
) -> RunSummary:
    """Everything the automation rules find to do. Without `reload_reference` the reference
    snapshots are not read (an erasure's rebuild needs only what the database holds)."""
    summary, instance = RunSummary(), execute.instance
    with connect(database_url) as conn:
        changed = changed_snapshots(conn, landing) if reload_reference else set()
        pending, summary.skipped_partitions = pending_by_partition(conn, landing, every_folder=True)
        landed = sorted(set(pending) | unrecorded_ingests(conn, instance))
    if changed:
        progress(f"reference snapshots changed: {', '.join(sorted(changed))}")
        execute("reference_job")
        summary.reference_reloaded = True
    execute.per_range("ingest_partition_job", set(landed), progress, "ingesting and rolling up")
    # What an earlier, interrupted run ingested but did not roll up.
    behind = set(partitions_to_roll_up(instance))
    execute.roll_up(behind, progress)
    summary.partitions_run = sorted(behind | set(landed))
    if not summary.nothing_new or marts_behind(instance) is not None:
        if not rolled_up_ever(instance):
            # A first day without events: a rollup of today's empty partition creates the
            # incremental models the marts read, empty.
            execute.roll_up({daily_partitions.get_last_partition_key()}, progress)
        progress("building dbt marts and insights")
        execute("marts_job")
        summary.marts_rebuilt = True
    with connect(database_url, row_factory=dict_row) as conn:
        summary.partitions = conn.execute(load_sql("report/partition_totals")).fetchall()
        summary.mart_rows = {
            name: conn.execute(f"SELECT count(*) AS n FROM marts.{name}").fetchone()["n"]
            for name in MARTS
            if conn.execute("SELECT to_regclass(%s) AS t", (f"marts.{name}",)).fetchone()["t"]
        }
        summary.insights = conn.execute(
            "SELECT org_id, summary, data_fresh_as_of FROM marts.org_summaries ORDER BY org_id"
        ).fetchall()
    return summary


def run_replay(
    execute: Executor,
    reason: str | None = None,
    since: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> list[str]:
    """Replay dead letters, then roll up again every partition it changed, and rebuild the
    marts. Returns those partitions."""
    config = {"ops": {"replay_dead_letters_op": {"config": {"reason": reason, "since": since}}}}
    result = execute("replay_dead_letters_job", run_config=config)
    partitions = sorted({m.partition for m in result.asset_materializations_for_node("replay_dead_letters_op")})
    execute.roll_up(set(partitions), progress)
    if partitions:
        progress("building dbt marts and insights")
        execute("marts_job")
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
    if not sum(row["accepted"] for row in summary.partitions):
        lines.append("No events yet: the marts are built, and empty until events land.")
    lines.append("")
    lines.append("Marts: " + ", ".join(f"{name} {rows} rows" for name, rows in summary.mart_rows.items()))
    for insight in summary.insights:
        lines.append(f"  {insight['summary']}")
    fresh = max((i["data_fresh_as_of"] for i in summary.insights if i["data_fresh_as_of"]), default=None)
    lines.append(f"Data fresh as of: {fresh.isoformat() if fresh else 'no data yet'}")
    return "\n".join(lines)
