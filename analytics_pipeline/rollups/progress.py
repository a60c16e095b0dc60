"""Learner progress: a range of received-date partitions folded into current state, idempotently."""

from __future__ import annotations

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql

# A merge groups a range's events by learner and sorts the groups by key. Within this much
# memory (hashing may take twice as much) the groups of a first build of millions of events
# stay in memory instead of spilling to disk. A day's range takes a fraction of it, and only
# while its merge runs.
WORK_MEM = "128MB"


def _merge(conn: psycopg.Connection, sql_name: str, first_date: str, last_date: str) -> int:
    with conn.transaction():
        conn.execute("SELECT set_config('work_mem', %s, true)", (WORK_MEM,))
        return conn.execute(load_sql(sql_name), {"first_date": first_date, "last_date": last_date}).rowcount


def merge_lesson_progress(conn: psycopg.Connection, first_date: str, last_date: str) -> int:
    """Returns how many learner-lesson rows the partitions touched."""
    return _merge(conn, "rollups/merge_user_lesson_progress", first_date, last_date)


def merge_course_progress(conn: psycopg.Connection, first_date: str, last_date: str) -> int:
    """Returns how many learner-course rows the partitions touched."""
    return _merge(conn, "rollups/merge_user_course_progress", first_date, last_date)
