"""Learner progress: a range of received-date partitions folded into current state, idempotently."""

from __future__ import annotations

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql


def _merge(conn: psycopg.Connection, sql_name: str, first_date: str, last_date: str) -> int:
    with conn.transaction():
        return conn.execute(load_sql(sql_name), {"first_date": first_date, "last_date": last_date}).rowcount


def merge_lesson_progress(conn: psycopg.Connection, first_date: str, last_date: str) -> int:
    """Returns how many learner-lesson rows the partitions touched."""
    return _merge(conn, "rollups/merge_user_lesson_progress", first_date, last_date)


def merge_course_progress(conn: psycopg.Connection, first_date: str, last_date: str) -> int:
    """Returns how many learner-course rows the partitions touched."""
    return _merge(conn, "rollups/merge_user_course_progress", first_date, last_date)
