"""/metrics: the platform's health gauges on a real server after a real pipeline run, against
figures computed here from the tables and the landing zone; and what a scrape says when the
database is gone."""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime

import pandas as pd
import psycopg
import requests
from prometheus_client.parser import text_string_to_metric_families

from analytics_pipeline.config import SlaSettings
from tests.conftest import free_port
from tests.landing_helpers import event, write_batch
from tests.web_helpers import web_server


def scrape(base: str) -> dict[str, float]:
    text = requests.get(base + "/metrics", timeout=30).text
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_gauges_equal_the_figures_of_the_tables_and_the_landing_zone(platform, tmp_path):
    waiting = write_batch(tmp_path, "2026-04-06", [event("u_1", "course_1")])
    landed = time.time() - 300
    os.utime(waiting, (landed, landed))
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO raw.run_failures (run_id, job_name, failed_at) VALUES"
            " ('metrics-test-recent', 'marts_job', now() - interval '2 hours'),"
            " ('metrics-test-old', 'marts_job', now() - interval '3 days')"
        )
        batches = pd.DataFrame(
            conn.execute("SELECT received_date, lines, dead_lettered FROM raw.analytics_event_batches").fetchall(),
            columns=["received_date", "lines", "dead_lettered"],
        )
        fresh = conn.execute("SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily").fetchone()[0]
    try:
        with web_server(tmp_path, platform["url"], parts=("ingest",), status_cache_seconds=0) as base:
            gauges = scrape(base)
    finally:
        with psycopg.connect(platform["url"], autocommit=True) as conn:
            conn.execute("DELETE FROM raw.run_failures WHERE run_id LIKE 'metrics-test-%'")
    recent = batches[
        batches.received_date > batches.received_date.max() - pd.Timedelta(days=SlaSettings.dead_letter_window_days)
    ]
    assert gauges["analytics_database_up"] == 1
    assert gauges["analytics_pending_files"] == 1
    assert 290 <= gauges["analytics_ingest_lag_seconds"] <= 400
    assert math.isclose(gauges["analytics_dead_letter_ratio"], recent.dead_lettered.sum() / recent.lines.sum())
    assert 0 < gauges["analytics_dead_letter_ratio"] < 0.05
    assert gauges["analytics_marts_behind"] == 0
    age = (datetime.now(UTC) - fresh).total_seconds()
    assert abs(gauges["analytics_marts_age_seconds"] - age) < 60
    assert gauges["analytics_runs_failed_24h"] == 1


def test_without_a_database_the_scrape_says_so_and_keeps_the_collector_counters(tmp_path):
    nowhere = f"postgresql://analytics_web@127.0.0.1:{free_port()}/analytics"
    with web_server(tmp_path, nowhere, parts=("ingest",), status_cache_seconds=0) as base:
        gauges = scrape(base)
    assert gauges["analytics_database_up"] == 0
    assert math.isnan(gauges["analytics_ingest_lag_seconds"]) and math.isnan(gauges["analytics_marts_age_seconds"])
    assert "collector_batch_seconds_count" in gauges
