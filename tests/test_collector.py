"""The collector on a real server on loopback: answers per event, limits, health and metrics,
concurrent clients, and a SIGKILL under load: no acknowledged event lost, none twice."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY, cli_command, free_port, pipeline_environment
from tests.landing_helpers import event, ingest_landed, utc_today, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
USERS = [f"u{i}" for i in range(8)]
BATCH_PATH = "/api/analytics/events/batch"


class Collector:
    """`analytics-pipeline collect` as a subprocess on a fixed port, restartable."""

    def __init__(self, landing: Path, key: str):
        self.landing, self.port, self.key = landing, free_port(), key
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = landing.parent / f"collector-{self.port}.log"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                cli_command("collect", "--landing", str(self.landing), "--port", str(self.port)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                if requests.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError("collector did not start: " + self.log.read_text()[-2000:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def collector(tmp_path, migrated_db, new_database, monkeypatch):
    # Health figures as of each request, not as of the readiness probe.
    monkeypatch.setenv("ANALYTICS_WEB_STATUS_CACHE_SECONDS", "0")
    landing = tmp_path / "landing"
    write_reference(landing, [("org_a", user, "c1") for user in USERS])
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        key = create_write_key(conn, "tests").key
    with pipeline_environment(migrated_db, new_database(), tmp_path / "home"):
        server = Collector(landing, key)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def post(collector: Collector, events: list, **kwargs) -> requests.Response:
    return requests.post(
        collector.url + BATCH_PATH,
        json={"events": events},
        timeout=30,
        headers={"Authorization": f"Bearer {collector.key}"},
        **kwargs,
    )


def ingest(url: str, landing: Path) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        ingest_landed(conn, landing, TOKENIZER)


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT client_event_id::text FROM raw.analytics_events")]


def landed_files(landing: Path) -> list[Path]:
    return sorted((landing / "events").rglob("*")) if (landing / "events").exists() else []


def test_answers_each_event_and_lands_the_accepted_ones(collector, migrated_db):
    good = [event("u1", "c1"), event("u2", "c1", "lesson_completed")]
    broken = event("u3", "c1")
    del broken["courseId"]
    before = utc_today()
    response = post(collector, [*good, broken, good[0], "not an object"])
    after = utc_today()
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [e["clientEventId"] for e in good]
    assert body["duplicates"] == [good[0]["clientEventId"]]
    assert body["failed"][0] == {
        "clientEventId": broken["clientEventId"],
        "reason": "missing_field: missing required field courseId",
    }
    assert body["failed"][1]["clientEventId"] is None and len(body["failed"]) == 2

    files = [p for p in landed_files(collector.landing) if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".")  # renamed in, no temp file left
    lines = files[0].read_bytes().splitlines()
    assert len(lines) == 2
    received = files[0].parent.name.removeprefix("received_date=")  # the day it was received on
    assert received in {before, after} and f'"receivedAt":"{received}T'.encode() in lines[0]

    # Once ingested, the same events are duplicates of the ledger.
    ingest(migrated_db, collector.landing)
    again = post(collector, [good[1], event("u4", "c1")]).json()
    assert again["duplicates"] == [good[1]["clientEventId"]] and len(again["accepted"]) == 1


def test_limits_and_malformed_requests_get_clear_errors(collector):
    url, auth = collector.url + BATCH_PATH, {"Authorization": f"Bearer {collector.key}"}
    wrong_type = requests.post(
        url, data=b'{"events": []}', headers={**auth, "Content-Type": "application/xml"}, timeout=10
    )
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.json()["error"]
    bad_json = requests.post(
        url, data=b'{"events": [', headers={**auth, "Content-Type": "application/json"}, timeout=10
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"].startswith("invalid JSON")
    not_a_batch = requests.post(url, json=[event("u1", "c1")], headers=auth, timeout=10)
    assert not_a_batch.status_code == 400
    too_big = requests.post(
        url,
        data=b'{"events": ["' + b"x" * (2 << 20) + b'"]}',
        headers={**auth, "Content-Type": "application/json"},
        timeout=30,
    )
    assert too_big.status_code == 413 and "byte limit" in too_big.json()["error"]
    too_many = post(collector, [event("u1", "c1") for _ in range(1001)])
    assert too_many.status_code == 413 and "1001 events" in too_many.json()["error"]
    assert landed_files(collector.landing) == []  # nothing landed by a refused request


def test_health_and_metrics(collector):
    post(collector, [event("u1", "c1"), event("u2", "c1")])
    post(collector, [event("u3", "c1")])
    health = requests.get(collector.url + "/api/health", timeout=10).json()
    assert health["pending_files"] == 2 and health["ingest_lag_seconds"] >= 0
    assert health["marts_fresh_as_of"] is None  # no marts built in this database
    metrics = requests.get(collector.url + "/metrics", timeout=10).text
    assert 'collector_events_total{outcome="accepted"} 3.0' in metrics
    assert 'collector_batch_requests_total{status="200"} 2.0' in metrics
    logged = [json.loads(line) for line in collector.log.read_text().splitlines() if line.startswith("{")]
    assert [(entry["status"], entry["accepted"]) for entry in logged if entry["event"] == "batch"] == [
        (200, 2),
        (200, 1),
    ]


class Client(threading.Thread):
    """Posts batches until stopped; retries a batch (same events) until it is answered, and
    sometimes resends events it already sent, as a mobile client does."""

    def __init__(self, collector: Collector, seed: int, batches: int):
        super().__init__(daemon=True)
        self.collector, self.rng, self.batches = collector, random.Random(seed), batches
        self.sent: set[str] = set()
        self.acknowledged: set[str] = set()
        self.errors: list[str] = []

    def run(self):
        for _ in range(self.batches):
            fresh = [
                event(self.rng.choice(USERS), "c1", event_id=str(uuid.UUID(int=self.rng.getrandbits(128))))
                for _ in range(self.rng.randint(5, 25))
            ]
            events = fresh + [
                {**event("u1", "c1"), "clientEventId": old}
                for old in self.rng.sample(sorted(self.sent), min(2, len(self.sent)))
            ]
            self.sent.update(e["clientEventId"] for e in fresh)
            for _ in range(600):
                try:
                    response = post(self.collector, events)
                except requests.ConnectionError:
                    time.sleep(0.1)
                    continue
                if response.status_code == 200:
                    body = response.json()
                    self.acknowledged.update(body["accepted"])
                    if body["failed"]:
                        self.errors.append(str(body["failed"]))
                    break
                time.sleep(0.1)
            else:
                self.errors.append("never answered")


def run_clients(collector: Collector, count: int, batches: int) -> list[Client]:
    clients = [Client(collector, seed, batches) for seed in range(count)]
    for client in clients:
        client.start()
    return clients


def assert_each_acknowledged_event_stored_once(clients: list[Client], url: str, landing: Path) -> None:
    assert not [e for c in clients for e in c.errors]
    ingest(url, landing)
    stored = stored_ids(url)
    assert len(stored) == len(set(stored))  # none twice
    acknowledged = set().union(*(c.acknowledged for c in clients))
    sent = set().union(*(c.sent for c in clients))
    assert acknowledged <= set(stored) <= sent  # none lost, nothing invented
    assert len(acknowledged) > 100


def test_concurrent_clients_lose_nothing_and_count_nothing_twice(collector, migrated_db):
    clients = run_clients(collector, count=4, batches=15)
    for client in clients:
        client.join(timeout=300)
    assert_each_acknowledged_event_stored_once(clients, migrated_db, collector.landing)


def test_sigkill_under_load_loses_no_acknowledged_event(collector, migrated_db):
    clients = run_clients(collector, count=3, batches=40)
    for kill_after in (20, 60):
        while sum(len(c.acknowledged) for c in clients) < kill_after * 10 and any(c.is_alive() for c in clients):
            time.sleep(0.02)
        collector.kill()
        time.sleep(0.5)  # clients hit a closed port and keep retrying
        collector.start()
    for client in clients:
        client.join(timeout=300)
    assert not any(c.is_alive() for c in clients)
    assert_each_acknowledged_event_stored_once(clients, migrated_db, collector.landing)
