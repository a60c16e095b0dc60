"""Export of 1 M mart rows to CSV: `analytics-pipeline export` (COPY … TO STDOUT, streamed)
beside pandas `read_sql` + `to_csv` of the same rows, in the same run, on the same server; then
the same rows through the admin API's export."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import psycopg

from analytics_pipeline.access.export import export_mart
from bench.admin_api import measure_export
from bench.common import Figure, new_database

TARGET_SECONDS = 5.0


def measure(env, work: Path, rows: int) -> tuple[list[Figure], dict]:
    url = new_database(env, "bench_export")
    with psycopg.connect(url, autocommit=True) as conn:
        # A mart-shaped table for one org: dbt would need a far larger corpus to make 1 M rows.
        conn.execute(
            "CREATE TABLE marts.org_engagement_daily AS SELECT 'org_1'::text AS org_id,"
            " date '2000-01-01' + (i %% 9000) AS activity_date, i %% 500 AS active_learners, i AS events,"
            " i %% 37 AS video_plays, i %% 11 AS videos_completed, i %% 13 AS lessons_completed,"
            " i %% 7 AS quizzes_submitted, i %% 5 AS quizzes_passed, i %% 3 AS courses_completed,"
            " now() AS data_fresh_as_of FROM generate_series(1, %s) AS i",
            (rows,),
        )
        # As dbt's post-hook does for a real mart: row-level security and the tenants' grant.
        conn.execute("SELECT access.apply_tenant_policy('marts.org_engagement_daily')")
    start = time.perf_counter()
    exported = export_mart(url, "org_engagement_daily", "org_1", work / "export.csv")
    export_seconds = time.perf_counter() - start

    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        frame = pd.read_sql("SELECT * FROM marts.org_engagement_daily WHERE org_id = 'org_1'", conn)
    frame.to_csv(work / "pandas.csv", index=False)
    pandas_seconds = time.perf_counter() - start
    assert exported == len(frame) == rows

    figure = Figure(
        f"export {rows:,} mart rows to CSV",
        export_seconds,
        "s",
        "pandas read_sql + to_csv",
        pandas_seconds,
        False,
        f"<= {TARGET_SECONDS:.0f} s",
        export_seconds <= TARGET_SECONDS,
    )
    api = measure_export(url, work / "landing", rows, work)
    return [figure, api], {"export": {"rows": rows, "seconds": export_seconds, "pandas_seconds": pandas_seconds}}
