"""The figures that decide when to scale out (`python -m bench.capacity`):

- events per second one web replica (one `serve` process) accepts, from 8 concurrent clients
  posting batches of 100 native events for 20 s, beside the same batches written straight
  to the landing zone by one process (`landing.write_batch_file`, fsynced as the web app
  does): what the HTTP layer, the checks and the ledgers cost over the disk alone;
- the database's size per million events after ingesting about 200 k generated events
  (tables and indexes of `raw`), beside the landing files' size for the same events;
- runs per hour the daemon completes: on a built pipeline (a generated corpus, `run`), one
  new file lands in each of the last 8 received dates at once, and `analytics-pipeline dev`
  (the daemon with `dagster.yaml`'s run queue, pools and limits, the local launcher) ingests
  and rolls up each in a run of `ingest_partition_job` of its own; beside the same runs
  executed in this process one after another (no launcher, no run worker process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.demo.generator import generate
from analytics_pipeline.env_vars import variables_set
from analytics_pipeline.ingestion.landing import batch_file_path, events_folder, write_batch_file
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.reference import load_reference
from bench.common import (
    DAY,
    Figure,
    bench_environment,
    free_port,
    generate_day,
    new_database,
    pipeline_tokenizer,
    report,
    work_dir,
)
from scripts.serving import CLI, running, wait_for

CLIENTS, BATCH, SECONDS = 8, 100, 20
SIZE_EVENTS = 200_000
RUN_DAYS = 8
INGEST_JOB = "ingest_partition_job"


def batch() -> dict:
    now = datetime.now(UTC).isoformat()
    return {
        "events": [
            {
                "clientEventId": str(uuid.uuid4()),
                "eventType": "lesson_started",
                "occurredAt": now,
                "userId": "bench-learner",
                "courseId": "bench-course",
                "lessonId": "bench-lesson",
            }
            for _ in range(BATCH)
        ]
    }


def web_replica_rate(env, key: str) -> float:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    serve_env = {**os.environ, "ANALYTICS_WRITE_KEY_RATE": "100000"}
    with running("serve", "--only", "ingest", "--landing", str(env.landing), "--port", str(port), env=serve_env):
        wait_for(f"{api}/api/health", timeout=120)
        accepted, stop = [0] * CLIENTS, time.monotonic() + SECONDS

        def client(n: int) -> None:
            session = requests.Session()
            while time.monotonic() < stop:
                answer = session.post(
                    f"{api}/api/analytics/events/batch", json=batch(), headers={"Authorization": f"Bearer {key}"}
                )
                answer.raise_for_status()
                accepted[n] += len(answer.json()["accepted"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(accepted) / (time.monotonic() - started)


def disk_rate(env) -> float:
    import orjson

    written, started = 0, time.monotonic()
    while time.monotonic() - started < 5:
        lines = [orjson.dumps(e) for e in batch()["events"]]
        path = batch_file_path(env.landing, datetime.now(UTC).date(), f"disk-{uuid.uuid4()}")
        write_batch_file(path, b"\n".join(lines) + b"\n", durable=True)
        written += len(lines)
    return written / (time.monotonic() - started)


def size_per_million(env) -> tuple[float, float]:
    generate_day(env.landing, SIZE_EVENTS, DAY, seed=5)
    landing_bytes = sum(p.stat().st_size for p in (env.landing / "events").rglob(f"*{DAY.isoformat()}*/*"))
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        tokenizer = pipeline_tokenizer(env)
        load_reference(conn, env.landing, tokenizer)
        ingest_partition(conn, env.landing, DAY.isoformat(), tokenizer)
        conn.execute("VACUUM ANALYZE")
        stored = conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0]
        database_bytes = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'raw' AND c.relkind IN ('r', 'p')"
        ).fetchone()[0]
    per_million = 1_000_000 / stored
    return float(database_bytes) * per_million / 2**20, landing_bytes * per_million / 2**20


def set_aside(landing: Path, aside: Path, phases: tuple[str, ...]) -> dict[str, list[tuple[Path, Path]]]:
    """The last file of each received-date folder, one per phase, moved out of the landing
    zone: {phase: [(where it waits, where it lands)]}."""
    moved: dict[str, list[tuple[Path, Path]]] = {phase: [] for phase in phases}
    for folder in sorted(events_folder(landing).iterdir()):
        for phase, path in zip(phases, sorted(folder.glob("*.ndjson*"))[-len(phases) :]):
            waiting = aside / phase / folder.name / path.name
            waiting.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, waiting)
            moved[phase].append((waiting, path))
    return moved


def land(files: list[tuple[Path, Path]]) -> list[str]:
    """Renames the files back in (each appears whole); returns their partitions."""
    for waiting, path in files:
        waiting.replace(path)
    return sorted({path.parent.name.split("=", 1)[1] for _, path in files})


def finished_ingest_runs(instance, since: datetime) -> list:
    import dagster as dg

    records = instance.get_run_records(dg.RunsFilter(job_name=INGEST_JOB, created_after=since))
    return [r for r in records if r.dagster_run.is_finished]


def wait_idle(instance, quiet_seconds: float = 15, timeout: float = 600) -> None:
    """Until no run has been queued or in progress for `quiet_seconds`."""
    import dagster as dg

    busy = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    deadline, quiet_since = time.monotonic() + timeout, time.monotonic()
    while time.monotonic() - quiet_since < quiet_seconds:
        if instance.get_runs_count(dg.RunsFilter(statuses=busy)):
            quiet_since = time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"error: the daemon did not go idle within {timeout:.0f} s")
        time.sleep(1)


def runs_per_hour(env, work: Path) -> tuple[float, float, int]:
    """(runs per hour under the daemon, the same runs in-process, runs each), on databases of
    their own on the benchmark's server."""
    import dagster as dg

    landing = work / "runs-landing"
    generate(landing, orgs=2, learners=60, days=RUN_DAYS, seed=3)
    aside = set_aside(landing, work / "runs-aside", ("in-process", "daemon"))
    child = {
        "ANALYTICS_DATABASE_URL": new_database(env, "bench_runs"),
        "DAGSTER_POSTGRES_URL": new_database(env, "bench_runs_dagster"),
    }
    with variables_set(child):
        subprocess.run([CLI, "run", "--landing", str(landing)], check=True, capture_output=True)
        from analytics_pipeline.definitions import defs
        from analytics_pipeline.environment import bootstrap
        from analytics_pipeline.in_process_run import Executor

        bootstrap(landing)
        with dg.DagsterInstance.get() as instance, open(os.devnull, "w") as log:
            partitions = land(aside["in-process"])
            start = time.perf_counter()
            for key in partitions:
                Executor(defs, instance, log)(INGEST_JOB, partition_key=key)
            in_process = len(partitions) / (time.perf_counter() - start) * 3600

            port = free_port()
            with running("dev", "--landing", str(landing), "--port", str(port), env=dict(os.environ)):
                wait_for(f"http://127.0.0.1:{port}/server_info", timeout=180)
                wait_idle(instance)  # what the in-process runs left to the sensors (the marts)
                landed_at = datetime.now(UTC)
                partitions = land(aside["daemon"])
                deadline = time.monotonic() + 900
                while len(done := finished_ingest_runs(instance, landed_at)) < len(partitions):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"error: {len(done)} of {len(partitions)} ingest runs ended within 900 s")
                    time.sleep(1)
            failed = [r.dagster_run.run_id for r in done if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
            if failed:
                raise SystemExit(f"error: ingest runs failed under the daemon: {failed}")
            daemon = len(done) / (max(r.end_time for r in done) - landed_at.timestamp()) * 3600
    return daemon, in_process, len(partitions)


def main() -> int:
    work = work_dir("capacity")
    env = bench_environment(work)
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        key = create_write_key(conn, "bench").key
    replica, disk = web_replica_rate(env, key), disk_rate(env)
    database_mb, landing_mb = size_per_million(env)
    daemon_runs, in_process_runs, runs = runs_per_hour(env, work)
    figures = [
        Figure(
            f"events/s one web replica accepts ({CLIENTS} clients, batches of {BATCH})",
            replica,
            "e/s",
            "the same batches fsynced to the landing zone by one process",
            disk,
            higher_is_better=True,
        ),
        Figure(
            "the database (raw schema) per million events",
            database_mb,
            "MiB",
            "the landing files of the same events",
            landing_mb,
            higher_is_better=False,
        ),
        Figure(
            f"ingest runs per hour the daemon completes ({runs} partitions landed at once)",
            daemon_runs,
            "runs/h",
            "the same runs in this process, one after another",
            in_process_runs,
            higher_is_better=True,
        ),
    ]
    notes = {"clients": CLIENTS, "batch": BATCH, "seconds": SECONDS, "size_events": SIZE_EVENTS, "runs": runs}
    print(report(figures, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
