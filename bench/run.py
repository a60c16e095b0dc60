"""Throughput benchmarks, each figure beside its baseline measured in the same run on the same
embedded PostgreSQL: the demo generator, ingest, the whole loop, incremental cost, the marts at 10 M events, the
admin API on those marts, export.

    .venv/bin/python -m bench.run [--only generate,ingest,loop,incremental,marts,admin_api,export] [--events N] ...

Prints a table and writes bench/results/latest.json. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys

from bench import admin_api, export, generate, incremental, ingest, loop, marts
from bench.common import bench_environment, report, work_dir

PARTS = ("generate", "ingest", "loop", "incremental", "marts", "admin_api", "export")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    # The corpus of `generate --orgs 20 --learners 200000 --days 3`: about 5 M lines.
    parser.add_argument("--generate-learners", type=int, default=200_000, help="generate: learners (20 orgs, 3 days)")
    parser.add_argument("--events", type=int, default=1_000_000, help="ingest: events to generate")
    parser.add_argument(
        "--to-sql-rows", type=int, default=20_000, help="ingest: rows for the to_sql baseline (it runs at ~2 k rows/s)"
    )
    # The corpus of `generate --orgs 20 --learners 20000 --days 3 --seed 3`.
    parser.add_argument("--loop-learners", type=int, default=20_000, help="loop: learners (20 orgs, 3 days)")
    parser.add_argument("--day-events", type=int, default=100_000, help="incremental, marts: events in a day")
    parser.add_argument("--history-events", type=int, default=10_000_000, help="marts: events of history")
    parser.add_argument("--queries", type=int, default=200, help="marts: dashboard queries per mart")
    parser.add_argument("--clients", type=int, default=20, help="admin_api: concurrent clients")
    parser.add_argument("--requests-per-client", type=int, default=50, help="admin_api: requests each client sends")
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    asked = [p for p in args.only.split(",") if p]
    unknown = set(asked) - set(PARTS)
    parts = [p for p in PARTS if p in asked]
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if "admin_api" in parts and "marts" not in parts:
        parser.error("admin_api measures the API on the marts that the marts part builds: run both")

    work = work_dir("throughput")
    env = bench_environment(work)
    figures, notes = [], {}
    for part in parts:
        print(f"running {part} …", flush=True)
        if part == "generate":
            found = generate.measure(work, orgs=20, learners=args.generate_learners, days=3)
        elif part == "ingest":
            found = ingest.measure(env, work, args.events, args.to_sql_rows)
        elif part == "loop":
            found = loop.measure(env, work, orgs=20, learners=args.loop_learners, days=3, seed=3)
        elif part == "incremental":
            found = incremental.measure(env, work, args.day_events)
        elif part == "marts":
            found = marts.measure(env, args.day_events, args.history_events, args.queries)
        elif part == "admin_api":
            found = admin_api.measure(env, args.clients, args.requests_per_client)
        else:
            found = export.measure(env, work, args.export_rows)
        figures += found[0]
        notes.update(found[1])
        # Each part's figures as soon as they are measured (and in latest.json), in case a later part fails.
        print(report(figures, notes), flush=True)
    print()
    print(report(figures, notes))
    return 0 if all(f.meets_target is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
