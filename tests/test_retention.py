"""Retention on a real pipeline run: past the window, raw partitions are dropped whole with
their free text and landed files, dead letters, quarantined files and Dagster's run history
go, and yet the marts keep every figure, the event-id ledger still makes a late retry a
duplicate, and the ledger checks still add up."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.demo.generator import generate, write_batch_lines
from tests.conftest import pipeline_environment, run_command
from tests.db_helpers import published_marts

END = date(2026, 3, 12)  # months before any day these tests run: every day is past a 35-day window
WINDOWS = {
    "ANALYTICS_RAW_RETENTION_DAYS": "35",
    "ANALYTICS_DEAD_LETTER_RETENTION_DAYS": "35",
    "ANALYTICS_QUARANTINE_RETENTION_DAYS": "35",
    "ANALYTICS_EVENT_ID_RETENTION_DAYS": "3650",
    "ANALYTICS_RUN_HISTORY_RETENTION_DAYS": "0",
}


def cli(env: dict, *args: str) -> str:
    with pipeline_environment(env["url"], env["dagster_url"], env["home"]):
        os.environ.update(WINDOWS)
        done = run_command(*args, "--landing", str(env["landing"]))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def one_event_line(landing) -> str:
    for path in sorted((landing / "events").rglob("*.ndjson")):
        for line in path.read_text().splitlines():
            try:
                if json.loads(line).get("orgId"):
                    return line
            except ValueError:
                continue
    raise AssertionError("no event with an org in the landing zone")


@pytest.fixture(scope="module")
def retained(new_database, tmp_path_factory):
    root = tmp_path_factory.mktemp("retention")
    env = {"url": new_database(), "dagster_url": new_database(), "home": root / "home", "landing": root / "landing"}
    generate(env["landing"], orgs=2, learners=40, days=4, seed=21, end_date=END)
    torn = env["landing"] / "events" / f"received_date={END}" / "torn.ndjson.gz"
    torn.write_bytes(b"\x1f\x8b\x08 not a whole gzip stream")
    cli(env, "run")
    with psycopg.connect(env["url"]) as conn:
        env["counts_before"] = conn.execute(
            "SELECT (SELECT count(*) FROM raw.analytics_events), (SELECT count(*) FROM raw.analytics_event_ids),"
            " (SELECT count(*) FROM raw.analytics_dead_letters), (SELECT count(*) FROM raw.analytics_quarantined_files)"
        ).fetchone()
    env["marts_before"] = published_marts(env["url"])
    env["retry"] = one_event_line(env["landing"])
    before = datetime.now(UTC).date()
    cli(env, "retention")
    env["retention_days"] = {before, datetime.now(UTC).date()}  # the day it ran on, across midnight
    env["torn"] = torn
    return env


def test_past_the_window_raw_data_dead_letters_and_quarantined_files_are_gone(retained):
    events, ids, dead, quarantined = retained["counts_before"]
    assert events > 1000 and ids >= events and dead > 0 and quarantined == 1
    with psycopg.connect(retained["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM raw.analytics_events_partition_days()").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw.survey_free_text").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw.analytics_dead_letters").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw.analytics_event_ids").fetchone()[0] == ids  # its own window
        cutoffs = dict(conn.execute("SELECT kind, before FROM raw.retention_cutoffs").fetchall())
        assert cutoffs["events"] in {day - timedelta(days=35) for day in retained["retention_days"]}
        assert conn.execute(load_sql("monitoring/batch_conservation")).fetchall() == []
        assert conn.execute(load_sql("monitoring/event_id_integrity")).fetchone() == (0, 0, 0)
    assert not list((retained["landing"] / "events").glob("received_date=*/*.ndjson*"))
    assert not retained["torn"].exists()
    with psycopg.connect(retained["dagster_url"]) as conn:
        jobs = [row[0] for row in conn.execute("SELECT pipeline_name FROM runs")]
    assert jobs == ["retention_job"]  # every run before it was past a window of 0 days


def test_the_marts_keep_their_figures_and_a_late_retry_is_still_a_duplicate(retained):
    day = END + timedelta(days=1)
    write_batch_lines(
        retained["landing"] / "events" / f"received_date={day}" / "late-retry.ndjson", [retained["retry"]], False
    )
    cli(retained, "run")
    with psycopg.connect(retained["url"]) as conn:
        ledger = conn.execute(
            "SELECT lines, accepted, duplicates FROM raw.analytics_event_batches WHERE batch_id = 'late-retry'"
        ).fetchone()
    assert ledger == (1, 0, 1)
    after = published_marts(retained["url"])
    for table, frame in retained["marts_before"].items():
        assert len(frame) > 0, table
        pd.testing.assert_frame_equal(after[table], frame, obj=table)
