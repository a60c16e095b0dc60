"""The figures that decide when to scale out (`python -m bench.capacity`):

- events per second one web replica (one `serve` process) accepts, from 8 concurrent clients
  posting batches of 100 native events for 20 s, beside the same batches written straight
  to the landing zone by one process (`landing.write_batch_file`, fsynced as the web app
  does): what the HTTP layer, the checks and the ledgers cost over the disk alone;
- the database's size per million events after ingesting about 200 k generated events
  (tables and indexes of `raw`), beside the landing files' size for the same events.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

import psycopg
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.ingestion.landing import batch_file_path, write_batch_file
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from bench.common import DAY, Figure, bench_environment, free_port, generate_day, report, work_dir
from scripts.serving import running, wait_for

CLIENTS, BATCH, SECONDS = 8, 100, 20
SIZE_EVENTS = 200_000


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
        tokenizer = Tokenizer(env.pii_key())
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


def main() -> int:
    work = work_dir("capacity")
    env = bench_environment(work)
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        key = create_write_key(conn, "bench").key
    replica, disk = web_replica_rate(env, key), disk_rate(env)
    database_mb, landing_mb = size_per_million(env)
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
    ]
    print(report(figures, {"clients": CLIENTS, "batch": BATCH, "seconds": SECONDS, "size_events": SIZE_EVENTS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
