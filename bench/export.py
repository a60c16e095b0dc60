"""Export of 1 M mart rows to CSV: `analytics-pipeline export` (COPY … TO STDOUT, streamed)
beside pandas `read_sql` + `to_csv` of the same rows, in the same run, on the same server.

    .venv/bin/python bench/export.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pgserver
import psycopg

from analytics_pipeline.access.export import export_mart
from analytics_pipeline.db.migrations import migrate

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    server = pgserver.get_server(work / "pg", cleanup_mode="delete")
    url = server.get_uri()
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        # A mart-shaped table for one org: dbt would need a far larger corpus to make 1 M rows.
        conn.execute(
            "CREATE TABLE marts.org_engagement_daily AS SELECT 'org_1'::text AS org_id,"
            " date '2000-01-01' + (i %% 9000) AS activity_date, i %% 500 AS active_learners, i AS events,"
            " i %% 37 AS video_plays, i %% 11 AS videos_completed, i %% 13 AS lessons_completed,"
            " i %% 7 AS quizzes_submitted, i %% 5 AS quizzes_passed, i %% 3 AS courses_completed,"
            " now() AS data_fresh_as_of FROM generate_series(1, %s) AS i",
            (args.rows,),
        )
    memory_before = peak_rss_mib()
    start = time.perf_counter()
    rows = export_mart(url, "org_engagement_daily", "org_1", work / "export.csv")
    export_seconds = time.perf_counter() - start
    export_memory = peak_rss_mib() - memory_before

    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        frame = pd.read_sql("SELECT * FROM marts.org_engagement_daily WHERE org_id = 'org_1'", conn)
    frame.to_csv(work / "pandas.csv", index=False)
    pandas_seconds = time.perf_counter() - start
    pandas_memory = peak_rss_mib() - memory_before
    server.cleanup()

    assert rows == len(frame) == args.rows
    print(f"\n{'export of ' + format(rows, ',') + ' rows':<44}{'seconds':>9}{'rows/s':>12}{'peak RSS +MiB':>15}")
    print(f"{'pandas read_sql + to_csv (baseline)':<44}{pandas_seconds:>9.2f}{rows / pandas_seconds:>12,.0f}{pandas_memory:>15.0f}")
    print(f"{'analytics-pipeline export (COPY, streamed)':<44}{export_seconds:>9.2f}{rows / export_seconds:>12,.0f}{export_memory:>15.0f}")
    print(f"speed-up over the baseline: {pandas_seconds / export_seconds:.1f}x; target {TARGET_SECONDS:.0f} s: "
          f"{export_seconds / TARGET_SECONDS:.2f} of it")
    (ROOT / "bench" / "results" / "export.json").write_text(json.dumps({
        "rows": rows, "export_seconds": export_seconds, "export_peak_rss_increase_mib": export_memory,
        "pandas_seconds": pandas_seconds, "pandas_peak_rss_increase_mib": pandas_memory,
        "measured_at": datetime.now(timezone.utc).isoformat(),
    }, indent=2))
    return 0 if export_seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
