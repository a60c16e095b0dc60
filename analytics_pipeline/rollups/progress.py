"""Learner progress: one partition's events folded into current state, idempotently."""

from __future__ import annotations

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql


def merge_lesson_progress(conn: psycopg.Connection, partition_key: str) -> int:
    """Returns how many learner-lesson rows the partition touched."""
    with conn.transaction():
        return conn.execute(
            load_sql("rollups/merge_user_lesson_progress"), {"received_date": partition_key}
        ).rowcount


def merge_course_progress(conn: psycopg.Connection, partition_key: str) -> int:
    """Returns how many learner-course rows the partition touched. Reads lesson progress,
    so it runs after `merge_lesson_progress` for the same partition."""
    with conn.transaction():
        return conn.execute(
            load_sql("rollups/merge_user_course_progress"), {"received_date": partition_key}
        ).rowcount
