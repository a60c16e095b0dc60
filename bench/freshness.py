"""End-to-end freshness under the running daemon: a file lands → the marts and the admin API
reflect it.

Starts `analytics-pipeline dev` (webserver + daemon, sensors on) and `serve` (the admin API)
on a throw-away embedded PostgreSQL, lands N batch files at an interval, and times each until
max(marts.org_engagement_daily.data_fresh_as_of) reaches the file's receivedAt, and until
the admin API's `data_fresh_as_of` does (a platform admin's GET /api/admin/analytics, its
caches included). The baseline, measured in the same run on the same database: one file
pushed through the same jobs in-process by `analytics-pipeline run`, with no sensor or
run-launch overhead.

    .venv/bin/python -m bench.freshness [--files 30] [--interval 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from bench.common import free_port, percentile, work_dir

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("analytics-pipeline"))
GOAL_P95_SECONDS, GOAL_P50_SECONDS = 30, 15
SLA_SECONDS = 600


def fresh_as_of(url: str) -> datetime | None:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT max(data_fresh_as_of) FROM marts.org_engagement_daily").fetchone()[0]


def wait_reflected(url: str, landed_at: datetime, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        fresh = fresh_as_of(url)
        if fresh and fresh >= landed_at:
            return (datetime.now(UTC) - landed_at).total_seconds()
        time.sleep(0.5)
    return None


def api_fresh_as_of(base: str, token: str) -> datetime | None:
    answer = requests.get(
        f"{base}/api/admin/analytics",
        params={"organization_id": "org_1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    value = answer.json().get("data_fresh_as_of") if answer.status_code == 200 else None
    return datetime.fromisoformat(value) if value else None


RUN_END = re.compile(r" - (\w+) - [0-9a-f-]{36} - \d+ - RUN_(SUCCESS|FAILURE) - ")


def run_outcomes(log: Path) -> dict[str, dict[str, int]]:
    """{job: {SUCCESS: n, FAILURE: n}} of the runs the daemon's log saw end: a failed run is
    one more run retried, and one more alert."""
    outcomes: dict[str, dict[str, int]] = {}
    for job, outcome in RUN_END.findall(log.read_text(errors="replace")):
        counts = outcomes.setdefault(job, {"SUCCESS": 0, "FAILURE": 0})
        counts[outcome] += 1
    return outcomes


class FreshnessWatcher(threading.Thread):
    """Polls twice a second while files keep landing, and notes for each file the first moment
    `fresh_as_of()` reflects it."""

    def __init__(self, fresh_as_of):
        super().__init__(daemon=True)
        self.fresh_as_of, self.landed, self.latency = fresh_as_of, [], {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            fresh, now = self.fresh_as_of(), datetime.now(UTC)
            for index, landed_at in enumerate(list(self.landed)):
                if index not in self.latency and fresh and fresh >= landed_at:
                    self.latency[index] = (now - landed_at).total_seconds()
            time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between landed files")
    args = parser.parse_args()

    from analytics_pipeline.demo.access import demo_sign_ins
    from analytics_pipeline.demo.generator import generate
    from analytics_pipeline.demo.simulator import LiveLanding

    work = work_dir("freshness")
    landing = work / "landing"
    env = {**os.environ, "ANALYTICS_HOME": str(work / "state"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in ("ANALYTICS_DATABASE_URL", "DAGSTER_HOME", "DAGSTER_POSTGRES_URL"):
        env.pop(name, None)
    generate(landing, orgs=3, learners=200, days=3, seed=1)
    subprocess.run([CLI, "run", "--landing", str(landing)], env=env, check=True, capture_output=True)
    url = subprocess.run([CLI, "db", "url"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    live = LiveLanding(landing, seed=5)
    with psycopg.connect(url, autocommit=True) as conn:
        token = demo_sign_ins(conn)[-1].token  # the platform admin's

    # Baseline: one file through the same jobs in-process.
    # Taken just before writing: the file's receivedAt is at or after it.
    landed = datetime.now(UTC)
    live.write_batch(20)
    subprocess.run([CLI, "run", "--landing", str(landing)], env=env, check=True, capture_output=True)
    baseline = (datetime.now(UTC) - landed).total_seconds()

    port, api_port = free_port(), free_port()
    dev = subprocess.Popen(
        [CLI, "dev", "--landing", str(landing), "--port", str(port)],
        env=env,
        stdout=(work / "dev.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = subprocess.Popen(
        [CLI, "serve", "--only", "admin", "--landing", str(landing), "--port", str(api_port)],
        env=env,
        stdout=(work / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        # Warm-up, not measured: the daemon's first ticks roll up and rebuild the seeded
        # history. One file through the whole path, then a pause, and the backlog is gone.
        warm_up_landed = datetime.now(UTC)
        live.write_batch(20)
        warm_up = wait_reflected(url, warm_up_landed, timeout=SLA_SECONDS)
        print(f"warm-up file reflected after {warm_up:.1f} s (start-up backlog included)", flush=True)
        time.sleep(30)
        watchers = {
            "marts": FreshnessWatcher(lambda: fresh_as_of(url)),
            "admin API": FreshnessWatcher(lambda: api_fresh_as_of(base, token)),
        }
        for watcher in watchers.values():
            watcher.start()
        for index in range(args.files):
            for watcher in watchers.values():
                watcher.landed.append(datetime.now(UTC))
            live.write_batch(20)
            print(f"landed file {index + 1}/{args.files}", flush=True)
            time.sleep(args.interval)
        deadline = time.monotonic() + SLA_SECONDS
        while any(len(w.latency) < args.files for w in watchers.values()) and time.monotonic() < deadline:
            time.sleep(1)
        latencies = {}
        for name, watcher in watchers.items():
            watcher.stop.set()
            latencies[name] = [watcher.latency.get(i, float("inf")) for i in range(args.files)]
        runs = run_outcomes(work / "dev.log")  # before the stop below interrupts whatever still runs
    finally:
        for process in (dev, api):
            os.killpg(process.pid, 15)
            process.wait(timeout=60)

    print(f"\n{'end-to-end freshness':<44}{'seconds':>10}{'x baseline':>12}{'goal':>8}")
    print(f"{'in-process run, one file (baseline)':<44}{baseline:>10.1f}{1.0:>12.2f}")
    results = {
        "files": args.files,
        "warm_up_seconds": warm_up,
        "interval_seconds": args.interval,
        "baseline_seconds": baseline,
        "goal_seconds": {"p50": GOAL_P50_SECONDS, "p95": GOAL_P95_SECONDS},
        "measured_at": datetime.now(UTC).isoformat(),
    }
    met = True
    for name, values in latencies.items():
        for q, goal in ((50, GOAL_P50_SECONDS), (95, GOAL_P95_SECONDS)):
            seconds = percentile(values, q)
            met &= seconds <= goal
            verdict = f"<= {goal} s " + ("met" if seconds <= goal else "NOT met")
            label = f"daemon, {name} reflect it, p{q}"
            print(f"{label:<44}{seconds:>10.1f}{seconds / baseline:>12.2f}  {verdict}")
            results[f"{name} p{q}_seconds"] = seconds
        results[f"{name} latencies"] = values
    results["runs"] = runs
    for job, counts in sorted(runs.items()):
        print(f"runs of {job}: {counts['SUCCESS']} succeeded, {counts['FAILURE']} failed")
    (ROOT / "bench" / "results" / "freshness.json").write_text(json.dumps(results, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
