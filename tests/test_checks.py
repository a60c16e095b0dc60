"""Asset checks and alerting, on real tables and a real Dagster instance."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import dagster as dg
import psycopg
import pytest

from analytics_pipeline.db.urls import with_database
from analytics_pipeline.defs.checks.asset_checks import (
    batch_conservation_check,
    client_event_id_unique_check,
    dead_letter_rate_check,
    ingest_lag_check,
    mart_freshness_check,
)
from analytics_pipeline.defs.checks.resources import SlaResource
from analytics_pipeline.defs.resources import LandingZoneResource, PostgresResource
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY, pipeline_environment
from tests.landing_helpers import event, write_batch, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())


@pytest.fixture
def landing(tmp_path, conn):
    write_reference(tmp_path, [("org_a", "u1", "c1"), ("org_a", "u2", "c1")])
    load_reference(conn, tmp_path, TOKENIZER)
    return tmp_path


@pytest.fixture
def database(migrated_db):
    return PostgresResource(url=migrated_db)


def age_file(path, seconds):
    stamp = datetime.now(UTC).timestamp() - seconds
    os.utime(path, (stamp, stamp))


def test_ingest_lag_fails_with_error_severity_past_two_minutes(landing, database):
    resources = dict(database=database, landing=LandingZoneResource(root=str(landing)), sla=SlaResource())
    fresh_file = write_batch(landing, "2026-02-01", [event("u1", "c1")])
    age_file(fresh_file, 30)
    assert ingest_lag_check(**resources).passed
    late_file = write_batch(landing, "2026-02-01", [event("u2", "c1")])
    age_file(late_file, 300)
    result = ingest_lag_check(**resources)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["figure"].value >= 300 and result.metadata["threshold"].value == 120
    assert result.metadata["pending_files"].value == 2


def _marts_fresh_as_of(conn, fresh_as_of, received_at):
    # Stand-in marts (dbt builds the real ones in test_pipeline): just the freshness column.
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute("CREATE TABLE IF NOT EXISTS marts.org_engagement_daily (org_id text, data_fresh_as_of timestamptz)")
    conn.execute("TRUNCATE marts.org_engagement_daily, raw.analytics_event_batches")
    conn.execute("INSERT INTO marts.org_engagement_daily VALUES ('org_a', %s)", (fresh_as_of,))
    conn.execute(
        "INSERT INTO raw.analytics_event_batches (received_date, batch_id, landing_path, lines, accepted,"
        " duplicates, dead_lettered, unresolved_org, max_received_at) VALUES (%s, %s, 'x', 1, 1, 0, 0, 0, %s)",
        (received_at.date(), "b1", received_at),
    )


def test_mart_freshness_warns_only_when_newer_data_waits_past_the_sla(conn, database):
    sla = SlaResource()
    now = datetime.now(UTC)
    _marts_fresh_as_of(conn, now - timedelta(minutes=3), now - timedelta(minutes=1))
    assert mart_freshness_check(database=database, sla=sla).passed  # 3 minutes behind: inside SLA

    _marts_fresh_as_of(conn, now - timedelta(minutes=30), now - timedelta(minutes=1))
    stale = mart_freshness_check(database=database, sla=sla)
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert stale.metadata["figure"].value > 1700 and stale.metadata["threshold"].value == 600

    _marts_fresh_as_of(conn, now - timedelta(hours=5), now - timedelta(hours=5))
    quiet = mart_freshness_check(database=database, sla=sla)
    assert quiet.passed and quiet.metadata["newer_data_waiting"].value is False


def test_a_hand_made_duplicate_fails_the_uniqueness_check(conn, landing, database):
    write_batch(landing, "2026-02-01", [event("u1", "c1")])
    ingest_partition(conn, landing, "2026-02-01", TOKENIZER)
    assert client_event_id_unique_check(database=database).passed
    conn.execute("SELECT raw.ensure_analytics_events_partition('2026-02-02')")
    conn.execute(
        "INSERT INTO raw.analytics_events SELECT '2026-02-02', client_event_id, event_type, occurred_at,"
        " received_at, user_token, org_id, claimed_org_id, course_id, lesson_id, session_id, properties,"
        " batch_id, line_no, ingested_at FROM raw.analytics_events"
    )
    result = client_event_id_unique_check(database=database)
    assert not result.passed and result.metadata["duplicate_ids"].value == 1


def test_a_ledger_that_disagrees_with_stored_rows_fails_conservation(conn, landing, database):
    write_batch(landing, "2026-02-01", [event("u1", "c1"), b"not json"], name="b1")
    ingest_partition(conn, landing, "2026-02-01", TOKENIZER)
    assert batch_conservation_check(database=database).passed
    # Still adds up on paper, but one accepted event is not where the ledger says.
    conn.execute("UPDATE raw.analytics_event_batches SET accepted = 0, duplicates = duplicates + 1")
    result = batch_conservation_check(database=database)
    assert not result.passed and result.metadata["figure"].value == 1


def test_dead_letter_rate_over_the_threshold_warns(conn, landing, database, monkeypatch):
    write_batch(landing, "2026-02-01", [event("u1", "c1")] + [b"{bad"] * 3)
    ingest_partition(conn, landing, "2026-02-01", TOKENIZER)
    result = dead_letter_rate_check(database=database, sla=SlaResource())
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["figure"].value == 0.75
    monkeypatch.setenv("ANALYTICS_SLA_DEAD_LETTER_RATE_MAX", "0.8")  # one setting, read when the check runs
    assert dead_letter_rate_check(database=database, sla=SlaResource()).passed


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []
    failures_left = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(500)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received, _Hook.failures_left = [], 0
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook
    server.shutdown()


def test_failed_check_alerts_once_with_retry_then_resolves(conn, landing, migrated_db, new_database, tmp_path, webhook):
    url, hook = webhook
    from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url

    stuck = write_batch(landing, "2026-02-01", [event("u1", "c1")])
    age_file(stuck, 600)
    storage = {"postgres": {"postgres_url": sqlalchemy_psycopg2_url(new_database())}}
    with (
        pipeline_environment(migrated_db, "", tmp_path),
        dg.instance_for_test(overrides={"storage": storage}) as instance,
    ):
        os.environ.update(ANALYTICS_LANDING_DIR=str(landing), ANALYTICS_ALERT_WEBHOOK_URL=url)
        from analytics_pipeline.definitions import defs
        from analytics_pipeline.defs.automation.alert_sensors import check_alert_sensor

        checks_job = defs.resolve_job_def("sla_checks_job")
        repository = defs.get_repository_def()

        def run_checks_then_tick(cursor):
            checks_job.execute_in_process(instance=instance, raise_on_error=False)
            with dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repository) as context:
                return check_alert_sensor(context).cursor

        # A run that failed before evaluating its checks leaves them planned: no result, no alert.
        os.environ["ANALYTICS_DATABASE_URL"] = with_database(migrated_db, "no_such_database")
        assert not checks_job.execute_in_process(instance=instance, raise_on_error=False).success
        os.environ["ANALYTICS_DATABASE_URL"] = migrated_db
        with dg.build_sensor_context(instance=instance, repository_def=repository) as context:
            assert check_alert_sensor(context).skip_reason and hook.received == []

        hook.failures_left = 1  # the first delivery meets a 500 and is retried
        cursor = run_checks_then_tick(None)
        failures = [b for b in hook.received if b["alert"]["check"] == "ingest_lag_check"]
        assert len(failures) == 2 and failures[0] == failures[1]
        alert = failures[-1]["alert"]
        assert alert["asset"] == "raw_analytics_events" and alert["passed"] is False
        assert alert["severity"] == "ERROR" and alert["threshold"] == 120 and alert["figure"] >= 600
        assert "ingest_lag_check" in failures[-1]["text"] and "threshold 120" in failures[-1]["text"]

        cursor = run_checks_then_tick(cursor)  # still failing: no second alert
        assert len([b for b in hook.received if b["alert"]["check"] == "ingest_lag_check"]) == 2

        ingest_partition(conn, landing, "2026-02-01", TOKENIZER)
        run_checks_then_tick(cursor)
        resolved = [b for b in hook.received if b["alert"]["check"] == "ingest_lag_check"][-1]
        assert resolved["alert"]["passed"] is True and "Resolved" in resolved["text"]


def test_a_failed_run_is_posted_with_its_job_and_partition(migrated_db, new_database, tmp_path, webhook):
    url, hook = webhook
    from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url

    storage = {"postgres": {"postgres_url": sqlalchemy_psycopg2_url(new_database())}}
    missing_landing = tmp_path / "nowhere"  # reference snapshots missing: the run must fail
    with (
        pipeline_environment(migrated_db, "", tmp_path),
        dg.instance_for_test(overrides={"storage": storage}) as instance,
    ):
        os.environ.update(ANALYTICS_LANDING_DIR=str(missing_landing), ANALYTICS_ALERT_WEBHOOK_URL=url)
        from analytics_pipeline.definitions import defs
        from analytics_pipeline.defs.automation.alert_sensors import run_failure_alert_sensor

        result = defs.resolve_job_def("reference_job").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        [failure] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name=run_failure_alert_sensor.name,
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        ).for_run_failure()
        run_failure_alert_sensor(context, database=PostgresResource(url=migrated_db))
    [posted] = hook.received
    assert posted["alert"]["kind"] == "run_failure" and posted["alert"]["job"] == "reference_job"
    assert posted["alert"]["run_id"] == result.run_id and "reference_job" in posted["text"]
    # Recorded for /metrics too, which reads it without access to Dagster's storage.
    with psycopg.connect(migrated_db) as conn:
        recorded = conn.execute("SELECT run_id, job_name FROM raw.run_failures").fetchall()
        assert recorded == [(result.run_id, "reference_job")]
        assert conn.execute("SELECT web.runs_failed_since(now() - interval '1 day')").fetchone()[0] == 1
