"""The tracker for server-side emitters (an LMS backend): the browser tracker's promise in
Python, with the standard library alone (no Dagster, nothing else of the platform), so an LMS
can vendor this one file.

    tracker = Tracker("https://analytics.example.org", "wk_...", queue_path="analytics-queue.sqlite3")
    tracker.track({"eventType": "lesson_started", "userId": "u1", "courseId": "c1", "lessonId": "l1"})
    tracker.flush()

- `track` commits the event to a SQLite file before it returns: a crash or a restart of the
  process loses nothing, and the next Tracker on the same file sends what is left.
- The queue is bounded (`max_queue`): past it, `track` raises QueueFull rather than drop an
  event silently.
- `flush` sends batches (at most 1000 events and 1 MiB each) to the batch route; an answered
  event (accepted or duplicate) leaves the queue, a failed one goes to `on_failed` once and
  leaves it too. Network errors, 429 and 5xx are retried with capped exponential back-off
  and jitter, honouring Retry-After; a 401 raises Unauthorized and keeps the events.
- With `background=True` a thread sends every `flush_interval` seconds.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 1024 * 1024 - 1024
MAX_BACKOFF_SECONDS = 30.0
BASE_BACKOFF_SECONDS = 0.5
BATCH_PATH = "/api/analytics/events/batch"
REQUIRED = ("eventType", "userId", "courseId")
NEXT_BATCH = "SELECT id, event FROM queue ORDER BY seq LIMIT ?"


class QueueFull(RuntimeError):
    pass


class Unauthorized(RuntimeError):
    pass


def retry_delay(attempt: int, server_seconds: float = 0.0, rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with full jitter, capped at 30 s, never less than Retry-After."""
    return max(server_seconds, rand() * min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2**attempt))


def _retry_after(error: urllib.error.HTTPError) -> float:
    value = error.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


class Tracker:
    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        queue_path: str | Path = "analytics-tracker.sqlite3",
        max_queue: int = 100_000,
        max_batch_size: int = MAX_BATCH_EVENTS,
        flush_interval: float = 2.0,
        on_failed: Callable[[dict, str], None] | None = None,
        timeout: float = 10.0,
        background: bool = False,
    ):
        self.url = endpoint.rstrip("/") + BATCH_PATH
        self.write_key = write_key
        self.max_queue = max_queue
        self.max_batch = min(max_batch_size, MAX_BATCH_EVENTS)
        self.on_failed = on_failed
        self.timeout = timeout
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(queue_path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # committed is on disk: a power cut loses nothing tracked
        self._db.execute("CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, event TEXT)")
        self._attempt = 0
        self._not_before = 0.0
        self._stop = threading.Event()
        self._thread = None
        if background:
            self._thread = threading.Thread(target=self._run, args=(flush_interval,), daemon=True)
            self._thread.start()

    def track(self, event: dict) -> str:
        """Queue an event (persisted before this returns); its clientEventId."""
        if not isinstance(event, dict):
            raise TypeError("an event is a dict")
        for field in REQUIRED:
            if not isinstance(event.get(field), str) or not event[field]:
                raise TypeError(f"an event needs {field}, a non-empty string")
        full = {
            **event,
            "clientEventId": event.get("clientEventId") or str(uuid.uuid4()),
            "occurredAt": event.get("occurredAt") or datetime.now(UTC).isoformat(),
        }
        with self._lock:
            if self.pending_count() >= self.max_queue:
                raise QueueFull(f"{self.max_queue} events wait to be sent; flush first")
            self._db.execute(
                "INSERT OR IGNORE INTO queue (id, event) VALUES (?, ?)", (full["clientEventId"], json.dumps(full))
            )
        return full["clientEventId"]

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM queue").fetchone()[0]

    def flush(self, timeout: float | None = None) -> bool:
        """Send every queued event; True once none is left, False if `timeout` seconds passed
        first (the events stay queued). Raises Unauthorized on a 401."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._not_before = 0.0  # try at once
        while True:
            with self._lock:
                rows = self._db.execute(NEXT_BATCH, (self.max_batch,)).fetchall()
            if not rows:
                return True
            wait = self._not_before - time.monotonic()
            if deadline is not None and time.monotonic() + max(wait, 0) > deadline:
                return False
            if wait > 0:
                time.sleep(wait)
            self._send(self._batch(rows))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
        with self._lock:
            self._db.close()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.flush(timeout=interval)
            except Unauthorized:
                return

    def _batch(self, rows: list[tuple[str, str]]) -> list[dict]:
        batch, size = [], 12
        for _, text in rows:
            if batch and size + len(text) + 1 > MAX_BATCH_BYTES:
                break
            batch.append(json.loads(text))
            size += len(text) + 1
        return batch

    def _send(self, batch: list[dict]) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"events": batch}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.write_key}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 401:
                raise Unauthorized(error.read().decode(errors="replace")) from None
            if error.code == 413 and len(batch) > 1:
                self._send(batch[: len(batch) // 2])
                return
            if error.code == 429 or error.code >= 500:
                self._back_off(_retry_after(error))
                return
            reason = error.read().decode(errors="replace")
            self._answered(batch, {event["clientEventId"]: reason for event in batch})
            return
        except (urllib.error.URLError, OSError):
            self._back_off(0.0)
            return
        self._attempt = 0
        self._answered(batch, {f["clientEventId"]: f["reason"] for f in answer.get("failed", [])})

    def _back_off(self, server_seconds: float) -> None:
        self._attempt += 1
        self._not_before = time.monotonic() + retry_delay(self._attempt, server_seconds)

    def _answered(self, batch: list[dict], failed: dict[str, str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM queue WHERE id = ?", [(event["clientEventId"],) for event in batch])
        for event in batch:
            if event["clientEventId"] in failed and self.on_failed is not None:
                self.on_failed(event, failed[event["clientEventId"]])
