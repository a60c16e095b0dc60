"""The first day: the LMS's snapshots are in place and no event has come yet, or every line of
the first batch is dead-lettered. `run` works, builds the marts without a figure made of
events, and says so."""

from __future__ import annotations

import psycopg

from analytics_pipeline.demo.generator import generate
from analytics_pipeline.marts import MARTS
from tests.conftest import pipeline_environment, run_command
from tests.landing_helpers import write_batch

# Marts whose rows come from the snapshots alone: every enrolled learner's course, every lesson.
FROM_SNAPSHOTS = {
    "view_course_completion_rate",
    "view_lesson_dropoff",
    "org_insights",
    "course_catalog",
    "lesson_catalog",
}


def first_run(new_database, tmp_path, landing) -> tuple[str, str]:
    url = new_database()
    with pipeline_environment(url, new_database(), tmp_path / "home"):
        done = run_command("run", "--landing", str(landing))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return url, done.stdout


def assert_no_event_figures(url: str) -> None:
    with psycopg.connect(url) as conn:
        for mart in MARTS:
            rows = conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()[0]
            assert (rows > 0) == (mart in FROM_SNAPSHOTS), (mart, rows)
        completion = conn.execute(
            "SELECT sum(enrolled_learners), sum(completed_learners) FROM marts.view_course_completion_rate"
        ).fetchone()
        assert completion[0] > 0 and completion[1] == 0
        started = conn.execute("SELECT sum(learners_started) FROM marts.view_lesson_dropoff").fetchone()[0]
        assert started == 0
        fresh = conn.execute("SELECT data_fresh_as_of, active_learners_7d FROM marts.org_insights").fetchall()
        assert all(as_of is None and active == 0 for as_of, active in fresh)


def snapshots_only(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, orgs=2, learners=10, days=1, seed=3)
    for path in (landing / "events").rglob("*"):
        if path.is_file():
            path.unlink()
    return landing


def test_a_first_run_with_snapshots_and_no_event_builds_the_marts_and_says_so(new_database, tmp_path):
    landing = snapshots_only(tmp_path)
    url, output = first_run(new_database, tmp_path, landing)
    assert "No events yet" in output and "Data fresh as of: no data yet" in output
    assert_no_event_figures(url)


def test_a_first_batch_of_dead_letters_only_builds_the_marts(new_database, tmp_path):
    landing = snapshots_only(tmp_path)
    write_batch(landing, "2026-02-01", [b"not json", {"eventType": "course_started"}, b'{"userId": 1}'])
    url, output = first_run(new_database, tmp_path, landing)
    assert "No events yet" in output
    assert_no_event_figures(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM raw.analytics_dead_letters").fetchone()[0] == 3
