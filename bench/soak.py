"""Hours under load, compressed: the collector, the Dagster daemon and webserver run for
--minutes (default 30) while a client posts --rate events per second (default 100) through
the collector, and faults strike on the way:

- at a quarter of the time, the daemon process is killed with SIGKILL and started again;
- at half, PostgreSQL restarts;
- at three quarters, the landing disk (a small tmpfs, when this machine lets us mount one)
  fills up: the collector must answer 503, never acknowledge what it could not persist.

Every 10 s the script samples ingest lag and marts freshness (the collector's /api/health)
and the memory of the webserver, the daemon and the collector. At the end it waits for the
pipeline to catch up and checks that every acknowledged event is stored exactly once.

    .venv/bin/python -m bench.soak [--minutes 30] [--rate 100]

Not part of the test suite. The figures go to bench/results/soak.json and bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import requests

from bench.common import RESULTS, free_port, work_dir
from scripts.serving import wait_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INGEST_LAG_SLA, FRESHNESS_SLA = 120, 600


def spawn(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Load:
    """The client: posts a batch every tenth of a second, keeps a batch it could not get
    acknowledged and sends it again, and remembers every id it was told is stored."""

    base: str
    key: str
    rate: float
    landing: Path
    acknowledged: set[str] = field(default_factory=set)
    answers: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from analytics_pipeline.demo.simulator import LiveLanding

        live = LiveLanding(self.landing, seed=17)
        session, pending = requests.Session(), []
        while not self.stopping.is_set():
            started = time.monotonic()
            if not pending:
                pending = live.events(max(1, round(self.rate / 10)), datetime.now(UTC))
                for event in pending:
                    del event["receivedAt"]  # the collector stamps it
            try:
                answer = session.post(
                    f"{self.base}/api/analytics/events/batch",
                    json={"events": pending},
                    headers={"Authorization": f"Bearer {self.key}"},
                    timeout=30,
                )
                status = str(answer.status_code)
                if answer.status_code == 200:
                    body = answer.json()
                    self.acknowledged.update(body["accepted"], body["duplicates"])
                    pending = []
            except requests.RequestException:
                status = "no answer"
            self.answers[status] = self.answers.get(status, 0) + 1
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


def rss_mb(pid: int | None) -> float | None:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20 if pid else None
    except psutil.NoSuchProcess:
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=100, help="events per second through the collector")
    args = parser.parse_args()
    duration = args.minutes * 60

    work = work_dir("soak")
    landing, logs = work / "landing", work / "logs"
    landing.mkdir()
    logs.mkdir()
    # The landing disk: a small tmpfs, so that it can be filled without filling the machine's.
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(landing)], capture_output=True)
    os.environ.update(ANALYTICS_HOME=str(work / "state"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    for name in ("ANALYTICS_DATABASE_URL", "DAGSTER_HOME", "DAGSTER_POSTGRES_URL"):
        os.environ.pop(name, None)

    from analytics_pipeline.db.embedded import stop_embedded_server
    from analytics_pipeline.demo.generator import generate
    from analytics_pipeline.environment import bootstrap

    generate(landing, orgs=3, learners=300, days=2, seed=9)
    cli = str(BIN / "analytics-pipeline")
    subprocess.run([cli, "run", "--landing", str(landing)], check=True, capture_output=True)
    key = (
        subprocess.run(
            [cli, "access", "write-key", "create", "--label", "soak"], check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    config = bootstrap(landing)  # the environment the daemon, the webserver and their runs read
    url = config.database_url
    workspace = str(ROOT / "workspace.yaml")
    ui_port, collector_port = free_port(), free_port()
    daemon_command = [str(BIN / "dagster-daemon"), "run", "-w", workspace]
    processes = {"daemon": spawn(daemon_command, logs / "daemon.log")}
    webserver = spawn([str(BIN / "dagster-webserver"), "-w", workspace, "-p", str(ui_port)], logs / "webserver.log")
    collector = spawn(
        [cli, "serve", "--only", "ingest", "--landing", str(landing), "--port", str(collector_port)],
        logs / "collector.log",
    )
    base = f"http://127.0.0.1:{collector_port}"
    wait_for(base + "/api/health", timeout=120)
    wait_for(f"http://127.0.0.1:{ui_port}/server_info", timeout=180)

    load = Load(base, key, args.rate, landing)
    client = threading.Thread(target=load.run, daemon=True)
    samples, faults = [], []
    started = time.monotonic()
    client.start()
    fault_times = {"daemon_sigkill": duration / 4, "postgres_restart": duration / 2, "landing_full": 3 * duration / 4}
    done_faults: set[str] = set()
    filler = landing / "filler.bin"

    def strike(name: str) -> str:
        """Bring the fault about; what happened, in words."""
        if name == "daemon_sigkill":
            # The daemon alone: the runs it launched are processes of their own, as run pods
            # are in production (killing its process group took them with it; bench/README.md).
            os.kill(processes["daemon"].pid, signal.SIGKILL)
            processes["daemon"].wait()
            time.sleep(5)
            processes["daemon"] = spawn(daemon_command, logs / "daemon.log")
            return "daemon killed, started again 5 s later"
        if name == "postgres_restart":
            down = time.monotonic()
            stop_embedded_server(config.embedded_data_dir())
            # A new process starts it: this one's pgserver handle still believes it runs.
            data_dir = str(config.embedded_data_dir())
            start = f"from analytics_pipeline.db.embedded import start_embedded_server as s; s({data_dir!r})"
            subprocess.run([sys.executable, "-c", start], check=True, capture_output=True)
            return f"stopped and started again in {time.monotonic() - down:.1f} s"
        if tmpfs.returncode != 0:
            return "skipped: no tmpfs could be mounted"
        before = load.answers.get("503", 0)
        with filler.open("wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * (1 << 20))
                    handle.flush()
            except OSError:
                pass
        time.sleep(20)
        filler.unlink()
        return f"landing disk full for 20 s: {load.answers.get('503', 0) - before} batches answered 503"

    while (elapsed := time.monotonic() - started) < duration:
        for name, at in fault_times.items():
            if name not in done_faults and elapsed >= at:
                done_faults.add(name)
                faults.append({"fault": name, "at_s": round(elapsed), "detail": strike(name)})
        try:
            health = requests.get(base + "/api/health", timeout=10).json()
        except (requests.RequestException, ValueError):
            health = {}
        samples.append(
            {
                "t": round(elapsed),
                "ingest_lag_seconds": health.get("ingest_lag_seconds"),
                "marts_age_seconds": health.get("marts_age_seconds"),
                "marts_behind": health.get("marts_behind"),
                "rss_mb": {
                    "webserver": rss_mb(webserver.pid),
                    "daemon": rss_mb(processes["daemon"].pid),
                    "collector": rss_mb(collector.pid),
                },
            }
        )
        time.sleep(10)
    load.stopping.set()
    client.join()

    # Catch up, then reconcile what was acknowledged with what is stored.
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            health = requests.get(base + "/api/health", timeout=10).json()
        except (requests.RequestException, ValueError):
            health = {}
        if health.get("pending_files") == 0 and health.get("marts_behind") is False:
            break
        time.sleep(5)
    caught_up = round(time.monotonic() - started - duration)
    with psycopg.connect(url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT client_event_id) FROM raw.analytics_events"
            " WHERE client_event_id = ANY(%s::uuid[])",
            (sorted(load.acknowledged),),
        ).fetchone()
    for process in (collector, webserver, processes["daemon"]):
        stop(process)
    if tmpfs.returncode == 0:
        subprocess.run(["umount", str(landing)], capture_output=True)

    def growth(name: str) -> dict:
        values = [s["rss_mb"][name] for s in samples if s["rss_mb"][name]]
        quarter = max(1, len(values) // 4)
        warm, end = statistics.median(values[quarter : 2 * quarter]), statistics.median(values[-quarter:])
        return {"after_warm_up_mb": round(warm, 1), "at_the_end_mb": round(end, 1), "growth": round(end / warm - 1, 3)}

    # The SLAs are judged from the daemon's first catch-up on: before it, the marts still show
    # the seeded history's day, hours old.
    warm = next((i for i, s in enumerate(samples) if s["marts_behind"] is False), len(samples))
    judged = samples[warm:]
    lags = [s["ingest_lag_seconds"] for s in judged if s["ingest_lag_seconds"] is not None]
    stale = [s for s in judged if s["marts_behind"] and (s["marts_age_seconds"] or 0) > FRESHNESS_SLA]
    report = {
        "minutes": args.minutes,
        "rate": args.rate,
        "answers": load.answers,
        "acknowledged_events": len(load.acknowledged),
        "stored": stored,
        "missing": len(load.acknowledged) - distinct,
        "doubled": stored - distinct,
        "max_ingest_lag_seconds": max(lags, default=None),
        "samples_over_ingest_lag_sla": sum(lag > INGEST_LAG_SLA for lag in lags),
        "max_marts_age_seconds_while_behind": max(
            (s["marts_age_seconds"] or 0 for s in judged if s["marts_behind"]), default=0
        ),
        "samples_over_freshness_sla": len(stale),
        "warm_up_seconds": judged[0]["t"] if judged else None,
        "samples_judged": len(judged),
        "memory": {name: growth(name) for name in ("webserver", "daemon", "collector")},
        "faults": faults,
        "caught_up_after_seconds": caught_up,
        "logs": str(logs),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps({**report, "series": samples}, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["missing"] == report["doubled"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
