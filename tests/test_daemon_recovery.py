"""The daemon killed with its runs under way: they are failed, done again, and nothing is lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from tests.conftest import corpus_and_clean_run, pipeline_environment
from tests.db_helpers import table_digests

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def daemon_corpus(tmp_path_factory, new_database) -> tuple[Path, str]:
    """Two days: two ingest runs under the daemon, and each run it has to do again costs a
    process of its own."""
    return corpus_and_clean_run(tmp_path_factory, new_database, learners=60, days=2, end_date=date(2026, 5, 2))


# Tables whose rows record which landed copy of an event was kept.
LANDING_ORDER = {"raw.analytics_events", "raw.analytics_event_ids", "raw.analytics_event_batches"}


def event_ledger(url: str) -> tuple:
    """The stored event ids, and the ledger's totals of lines, accepted, duplicates, dead letters."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT md5(string_agg(client_event_id::text, ',' ORDER BY client_event_id))"
            " FROM raw.analytics_events), sum(lines), sum(accepted), sum(duplicates), sum(dead_lettered)"
            " FROM raw.analytics_event_batches"
        ).fetchone()


def in_flight(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    from analytics_pipeline.defs.automation.rules import IN_FLIGHT

    return instance.get_runs(dg.RunsFilter(statuses=IN_FLIGHT))


def caught_up(instance: dg.DagsterInstance, landing) -> bool:
    from analytics_pipeline.db.connection import connect
    from analytics_pipeline.defs.automation.rules import marts_behind, partitions_to_roll_up, pending_by_partition

    with connect(os.environ["ANALYTICS_DATABASE_URL"]) as conn:
        pending, _ = pending_by_partition(conn, landing)
    return not (pending or partitions_to_roll_up(instance) or in_flight(instance)) and marts_behind(instance) is None


def runs_and_log(instance: dg.DagsterInstance, log: Path) -> str:
    """What a daemon test that did not catch up left: every run, oldest first, and the log's end."""
    runs = [
        f"{r.run_id[:8]} {r.job_name} {r.tags.get('dagster/partition', '-')} {r.status.value}"
        f" parent={r.parent_run_id and r.parent_run_id[:8]} {r.tags.get('dagster/failure_reason', '')}"
        for r in reversed(instance.get_runs())
    ]
    return "\n".join([*runs, log.read_text()[-2000:]])


def succeeded_after(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether a run of the same job (and partition) created after `run` succeeded: its retry,
    or the landing sensor's request for files whose run failed for good."""
    created = instance.get_run_record_by_id(run.run_id).create_timestamp
    partition = {"dagster/partition": run.tags["dagster/partition"]} if "dagster/partition" in run.tags else {}
    later = dg.RunsFilter(job_name=run.job_name, tags=partition, statuses=[dg.DagsterRunStatus.SUCCESS])
    return any(record.create_timestamp > created for record in instance.get_run_records(later))


def runs_once_ingesting(instance: dg.DagsterInstance, timeout: float) -> list[dg.DagsterRun]:
    """The runs under way as soon as an ingest run is among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if any(run.job_name == "ingest_partition_job" for run in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError("no ingest run was seen running")


def test_a_daemon_killed_with_its_runs_recovers_unaided(daemon_corpus, new_database, tmp_path):
    """Under the real daemon: SIGKILL of the daemon's whole process group while runs are under
    way takes its code server and their run workers along, and leaves those runs STARTED with
    nobody running them (the local launcher cannot see that). Started again, the daemon's run
    monitoring fails them once they pass the maximum run time, their work is done again (by run
    retries, or by the landing sensor's request once an ingest failed for good), the sensors go
    on, and the tables equal a clean run's."""
    from analytics_pipeline.environment import bootstrap

    corpus, clean_run = daemon_corpus
    url = new_database()
    with pipeline_environment(url, new_database(), tmp_path / "home"):
        os.environ.update(
            ANALYTICS_LANDING_SENSOR_SECONDS="5",
            ANALYTICS_RUN_START_TIMEOUT_SECONDS="15",
            ANALYTICS_RUN_MAX_RUNTIME_SECONDS="18",  # three times what a run of this corpus takes
            ANALYTICS_REQUEST_AGAIN_SECONDS="20",
        )
        bootstrap(corpus)
        command = [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(ROOT / "workspace.yaml")]
        log = (tmp_path / "daemon.log").open("ab")
        daemons = [subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)]
        try:
            with dg.DagsterInstance.get() as instance:
                orphaned = runs_once_ingesting(instance, timeout=180)
                os.killpg(daemons[0].pid, signal.SIGKILL)
                daemons[0].wait()
                daemons.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, start_new_session=True))
                deadline = time.monotonic() + 420
                while not caught_up(instance, corpus) and time.monotonic() < deadline:
                    time.sleep(2)
                assert caught_up(instance, corpus), runs_and_log(instance, tmp_path / "daemon.log")
                ended = [instance.get_run_by_id(run.run_id) for run in orphaned]
                redone = [succeeded_after(instance, run) for run in orphaned]
        finally:
            for daemon in daemons:  # each in a group of its own, with its code server and runs
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
    assert all(run.status == dg.DagsterRunStatus.FAILURE for run in ended), [run.status for run in ended]
    assert all(redone), [run.run_id for run, done in zip(orphaned, redone, strict=True) if not done]
    # Which copy of an event that landed on two days is kept depends on the order the daemon
    # ingests the partitions in; the events kept, the counts and everything built on them do not.
    expected, actual = table_digests(clean_run), table_digests(url)
    assert {t: d for t, d in actual.items() if t not in LANDING_ORDER} == {
        t: d for t, d in expected.items() if t not in LANDING_ORDER
    }
    assert event_ledger(url) == event_ledger(clean_run)
