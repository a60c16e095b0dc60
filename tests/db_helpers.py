"""Comparing databases table by table."""

from __future__ import annotations

import pandas as pd
import psycopg

from analytics_pipeline.marts import MARTS

TRACKED_TABLES = [
    "raw.analytics_events",
    "raw.analytics_event_ids",
    "raw.analytics_event_batches",
    "raw.analytics_dead_letters",
    "raw.survey_free_text",
    "raw.enrollments",
    "core.user_lesson_progress",
    "core.user_course_progress",
    "marts.org_summaries",
    "marts.org_insights",
    "marts.view_course_completion_rate",
    "marts.view_lesson_dropoff",
    "marts.org_engagement_daily",
    "marts.survey_summary",
]
# Wall-clock stamps of when a row was written say nothing about its content.
WRITE_STAMPS = ("ingested_at", "created_at", "computed_at")


def table_digests(url: str) -> dict[str, str]:
    """A content hash per table, independent of row order and of write timestamps."""
    strip = "".join(f" - '{column}'" for column in WRITE_STAMPS)
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                f"SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM "
                f"(SELECT (to_jsonb(t){strip})::text AS r FROM {table} AS t) AS rows"
            ).fetchone()[0]
            for table in TRACKED_TABLES
        }


def published_marts(url: str, ids=lambda value: value) -> dict[str, pd.DataFrame]:
    """Every published mart and the summaries, as frames in a fixed row order, without write
    stamps; `ids` maps each cell first (to compare marts whose ids have another form)."""
    frames = {}
    with psycopg.connect(url) as conn:
        for table in (*MARTS, "org_summaries"):
            frame = pd.read_sql(f"SELECT * FROM marts.{table}", conn)
            frame = frame.drop(columns=[c for c in WRITE_STAMPS if c in frame.columns])
            frame = frame.map(ids).map(lambda v: tuple(v) if isinstance(v, list) else v)
            order = sorted(range(len(frame)), key=lambda i: "|".join(map(str, frame.iloc[i])))
            frames[table] = frame.iloc[order].reset_index(drop=True)
    return frames
