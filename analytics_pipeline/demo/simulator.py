"""Keep a landing zone busy: write small batch files for "now" at a steady event rate, so
the sensors visibly fire in `dagster dev`. Learners and courses come from the landing
zone's own reference snapshots, so every event is attributable."""

from __future__ import annotations

import csv
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analytics_pipeline.demo.generator import write_batch_lines
from analytics_pipeline.ingestion.landing import batch_file_path

LESSON_EVENTS = ["lesson_started", "video_played", "video_progress", "lesson_completed", "quiz_started"]


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _event(rng: random.Random, enrollment: dict, lessons: list[dict], now: datetime) -> dict:
    lesson = rng.choice(lessons)
    event_type = rng.choice(LESSON_EVENTS)
    event = {
        "clientEventId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventType": event_type,
        "occurredAt": (now - timedelta(seconds=rng.uniform(0, 5))).isoformat(),
        "receivedAt": now.isoformat(),
        "userId": enrollment["user_id"],
        "orgId": enrollment["org_id"],
        "courseId": enrollment["course_id"],
        "lessonId": lesson["lesson_id"],
    }
    if event_type.startswith("video_"):
        duration = int(lesson["duration_seconds"] or 300)
        event["properties"] = {"positionSeconds": rng.randint(0, duration), "durationSeconds": duration}
    return event


class LiveLanding:
    """Writes batch files of events happening now, for learners of the landing's snapshots."""

    def __init__(self, landing: Path, seed: int | None = None):
        reference = landing / "reference"
        self.landing = landing
        self.lessons_by_course: dict[str, list[dict]] = {}
        for lesson in _read_csv(reference / "lessons.csv"):
            self.lessons_by_course.setdefault(lesson["course_id"], []).append(lesson)
        self.enrollments = [
            e for e in _read_csv(reference / "enrollments.csv") if e["course_id"] in self.lessons_by_course
        ]
        if not self.enrollments:
            raise ValueError(f"{reference}: no enrollment in a course with lessons to simulate")
        self.rng = random.Random(seed)

    def events(self, count: int, now: datetime) -> list[dict]:
        """`count` events of enrolled learners happening about `now`."""
        events = []
        for _ in range(count):
            enrollment = self.rng.choice(self.enrollments)
            events.append(_event(self.rng, enrollment, self.lessons_by_course[enrollment["course_id"]], now))
        return events

    def write_batch(self, count: int) -> Path:
        now = datetime.now(UTC)
        lines = [json.dumps(event) for event in self.events(count, now)]
        path = batch_file_path(self.landing, now.date(), str(uuid.uuid4()))
        write_batch_lines(path, lines, compress=False)
        return path


def simulate(
    landing: Path,
    rate: float,
    *,
    duration_seconds: float | None = None,
    batch_seconds: float = 1.0,
    seed: int | None = None,
    on_batch: Callable[[Path, int], None] = lambda path, n: None,
) -> int:
    """Write one batch file every `batch_seconds` holding about `rate` events per second;
    stops after `duration_seconds` (forever when None). Returns the number of events written."""
    live = LiveLanding(landing, seed)
    written, started = 0, time.monotonic()
    while duration_seconds is None or time.monotonic() - started < duration_seconds:
        count = max(1, round(live.rng.expovariate(1 / (rate * batch_seconds))))
        path = live.write_batch(count)
        written += count
        on_batch(path, count)
        time.sleep(batch_seconds)
    return written
