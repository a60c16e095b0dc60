"""Killed runs, a database that goes away, and late data: nothing lost, nothing counted twice."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from analytics_pipeline.demo.generator import generate
from analytics_pipeline.in_process_run import PROCESS_TAG
from tests.conftest import cli_command, corpus_and_clean_run, pipeline_environment, run_command
from tests.db_helpers import table_digests
from tests.landing_helpers import event, write_batch, write_reference


def batches_ingested(url: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM raw.analytics_event_batches").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


@pytest.fixture(scope="module")
def killed_mid_ingest(tmp_path_factory, new_database) -> tuple[Path, str]:
    """Enough files (over 400) for a run killed at 1, 120 and 400 ingested files."""
    return corpus_and_clean_run(tmp_path_factory, new_database, learners=150, days=4, end_date=date(2026, 5, 4))


def test_sigkill_mid_ingest_then_rerun_equals_a_clean_run(killed_mid_ingest, new_database, tmp_path):
    corpus, clean_run = killed_mid_ingest
    url = new_database()
    with pipeline_environment(url, new_database(), tmp_path):
        for kill_after_batches in (1, 120, 400):
            process = subprocess.Popen(
                cli_command("run", "--landing", str(corpus)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 120
            while batches_ingested(url) < kill_after_batches and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait()
        with psycopg.connect(url) as conn:  # the ledger never holds a partial batch
            assert (
                conn.execute(
                    "SELECT count(*) FROM raw.analytics_event_batches b WHERE b.accepted <> "
                    "(SELECT count(*) FROM raw.analytics_events e WHERE e.received_date = b.received_date AND e.batch_id = b.batch_id)"
                ).fetchone()[0]
                == 0
            )
        done = run_command("run", "--landing", str(corpus))
        assert done.returncode == 0, done.stderr[-2000:]
        # The killed processes left their runs STARTED; the run that followed failed them (a
        # run killed in a dbt step would otherwise hold that pool for good).
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
        assert all(PROCESS_TAG in run.tags for run in runs)
        assert [run for run in runs if run.status == dg.DagsterRunStatus.STARTED] == []
        assert any(run.status == dg.DagsterRunStatus.FAILURE for run in runs)
    assert table_digests(url) == table_digests(clean_run)


def test_a_late_event_moves_the_figures_of_its_own_day(tmp_path, new_database):
    """Received on 05-03 about 05-01: today's partition ingests it, 05-01's figures change."""
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import Executor, local_instance, run_pipeline

    write_reference(tmp_path, [("org_a", "u1", "c1"), ("org_a", "u2", "c1")])
    write_batch(tmp_path, "2026-05-01", [event("u1", "c1", day="2026-05-01")])
    url = new_database()

    def day_row(activity_day):
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT active_learners, events FROM marts.org_engagement_daily WHERE org_id = 'org_a' AND activity_date = %s",
                (activity_day,),
            ).fetchone()

    with pipeline_environment(url, new_database(), tmp_path / "home"):
        env = bootstrap(tmp_path)
        from analytics_pipeline.definitions import defs

        with local_instance() as instance:
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))
            assert day_row(date(2026, 5, 1)) == (1, 1)
            late = event("u2", "c1", "lesson_completed", day="2026-05-01")
            late["receivedAt"] = "2026-05-03T09:00:00Z"
            write_batch(tmp_path, "2026-05-03", [late, event("u1", "c1", lesson=2, day="2026-05-03")])
            summary = run_pipeline(env.database_url, env.landing, Executor(defs, instance))
    assert summary.partitions_run == ["2026-05-03"]
    assert day_row(date(2026, 5, 1)) == (2, 2)
    assert day_row(date(2026, 5, 3)) == (1, 1)


def test_a_database_that_goes_away_fails_the_step_clearly_and_the_retry_completes(tmp_path, new_database, monkeypatch):
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import local_instance

    # Small groups of files per transaction, so the cut falls between two commits of the step.
    monkeypatch.setattr("analytics_pipeline.ingestion.partition.GROUP_LINES", 50)
    generate(tmp_path, orgs=2, learners=80, days=1, seed=8, end_date=date(2026, 7, 1))
    url = new_database()
    files = len(list((tmp_path / "events").rglob("*.ndjson*")))

    def cut_connections_mid_ingest():
        deadline = time.monotonic() + 60
        while batches_ingested(url) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    with pipeline_environment(url, new_database(), tmp_path / "home"):
        bootstrap(tmp_path)
        from analytics_pipeline.definitions import defs

        with local_instance() as instance:
            assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
            cutter = threading.Thread(target=cut_connections_mid_ingest)
            cutter.start()
            result = defs.resolve_job_def("ingest_partition_job").execute_in_process(
                instance=instance, partition_key="2026-07-01"
            )
            cutter.join()
            retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
            failures = [
                e
                for e in instance.all_logs(result.run_id)
                if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
            ]
    assert result.success and retries and failures
    assert (
        "terminat"
        in str(
            failures[0].dagster_event.event_specific_data.error.cause
            or failures[0].dagster_event.event_specific_data.error
        ).lower()
    )
    with psycopg.connect(url) as conn:
        batches, unbalanced = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE accepted <> (SELECT count(*) FROM raw.analytics_events e"
            " WHERE e.received_date = b.received_date AND e.batch_id = b.batch_id)) FROM raw.analytics_event_batches b"
        ).fetchone()
    assert (batches, unbalanced) == (files, 0)
