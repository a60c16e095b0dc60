"""Replay after fixing reference data: dead letters and org-less events reach the marts,
and every batch still adds up."""

from __future__ import annotations

import psycopg

from analytics_pipeline.defs.checks.asset_checks import batch_conservation_check
from analytics_pipeline.defs.resources import PostgresResource
from tests.conftest import pipeline_environment
from tests.landing_helpers import event, write_batch, write_reference

DAY = "2026-06-01"


def test_replay_after_the_snapshots_catch_up(tmp_path, new_database):
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import Executor, local_instance, run_pipeline, run_replay

    # The LMS snapshot lags: course c2 and two enrollments are not in it yet.
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    retry = event("u2", "c2", "lesson_completed")
    lines = [event("u1", "c1"), event("u2", "c2"), retry, retry, event("u3", "c1", lesson=2), b"{broken"]
    write_batch(tmp_path, DAY, lines, name="lagging")
    url = new_database()

    def figures():
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT b.lines, b.accepted, b.duplicates, b.dead_lettered, b.unresolved_org,"
                " (SELECT coalesce(sum(events), 0) FROM marts.org_engagement_daily WHERE org_id = 'org_a'),"
                " (SELECT coalesce(sum(events), 0) FROM marts.org_engagement_daily WHERE org_id = 'org_b'),"
                " (SELECT count(*) FROM raw.analytics_dead_letters WHERE replayed_at IS NULL)"
                " FROM raw.analytics_event_batches b WHERE b.batch_id = 'lagging'"
            ).fetchone()

    with pipeline_environment(url, new_database(), tmp_path / "home"):
        env = bootstrap(tmp_path)
        from analytics_pipeline.definitions import defs

        with local_instance() as instance:
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))
            # u2/c2 lines: unknown course (3 lines); u3 is enrolled nowhere: kept without org.
            assert figures() == (6, 2, 0, 4, 1, 1, 0, 4)

            write_reference(tmp_path, [("org_a", "u1", "c1"), ("org_a", "u2", "c2"), ("org_b", "u3", "c1")])
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))  # reloads the snapshots
            assert run_replay(Executor(defs, instance)) == [DAY]
            # The 3 u2/c2 lines pass now: 2 distinct ids accepted, the retry a duplicate;
            # u3's event gets org_b.
            assert figures() == (6, 4, 1, 1, 0, 3, 1, 1)
            assert run_replay(Executor(defs, instance)) == []  # nothing left that passes now
    assert batch_conservation_check(database=PostgresResource(url=url)).passed
    with psycopg.connect(url) as conn:
        reason = conn.execute(
            "SELECT reason_code FROM raw.analytics_dead_letters WHERE replayed_at IS NULL"
        ).fetchone()[0]
        assert reason == "invalid_json"
