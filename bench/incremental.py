"""Incremental cost: ingest and roll up one new day on top of 1 day of history, and on top of
30 days; the cost should grow with the new data, not with the history."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import psycopg

from analytics_pipeline.demo.generator import generate
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.rollups.progress import (
    merge_course_progress,
    merge_lesson_progress,
)
from bench.common import DAY, Figure, clone_history, new_database, pipeline_tokenizer


def build_history(conn: psycopg.Connection, landing: Path, tokenizer: Tokenizer, days: int) -> int:
    """`days` days of history before DAY: the generated history day, copied into earlier days."""
    history_day = DAY - timedelta(days=1)
    ingest_partition(conn, landing, history_day.isoformat(), tokenizer)
    first = clone_history(conn, history_day, days - 1)
    merge_lesson_progress(conn, first.isoformat(), history_day.isoformat())
    merge_course_progress(conn, first.isoformat(), history_day.isoformat())
    conn.execute("VACUUM ANALYZE")
    return conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0]


def new_day(conn: psycopg.Connection, landing: Path, tokenizer: Tokenizer) -> tuple[float, int]:
    start = time.perf_counter()
    lines = sum(r.lines for r in ingest_partition(conn, landing, DAY.isoformat(), tokenizer))
    merge_lesson_progress(conn, DAY.isoformat(), DAY.isoformat())
    merge_course_progress(conn, DAY.isoformat(), DAY.isoformat())
    return time.perf_counter() - start, lines


def measure(env, work: Path, day_events: int) -> tuple[list[Figure], dict]:
    landing = work / "incremental-landing"
    # Both days from one generation, so they share learners, enrollments and reference data.
    generate(landing, orgs=20, learners=day_events // 10, days=2, seed=21, end_date=DAY)
    tokenizer = pipeline_tokenizer()
    timings: dict[int, list[float]] = {1: [], 30: []}
    notes = {}
    # The 1-day baseline is measured before and after the 30-day case, and averaged: this
    # machine's speed drifts by tens of percent over minutes.
    for run, days in enumerate((1, 30, 1)):
        url = new_database(env, f"bench_incremental_{run}_{days}")
        with psycopg.connect(url, autocommit=True) as conn:
            load_reference(conn, landing, tokenizer)
            history = build_history(conn, landing, tokenizer, days)
            seconds, lines = new_day(conn, landing, tokenizer)
        timings[days].append(seconds)
        notes[f"{days}_day_history"] = {"history_events": history, "new_day_lines": lines, "seconds": timings[days]}
    baseline = sum(timings[1]) / len(timings[1])
    figure = Figure(
        "one new day, ingest + roll up, on 30-day history",
        timings[30][0],
        "s",
        "the same on 1-day history (before, after)",
        baseline,
        False,
        "<= 1.3x the baseline",
        timings[30][0] <= 1.3 * baseline,
    )
    return [figure], {"incremental": notes}
