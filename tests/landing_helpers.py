"""Hand-made landing zones for tests that need exact control over each line."""

from __future__ import annotations

import csv
import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from analytics_pipeline.ingestion.landing import partition_folders
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.writer import BatchResult


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


def ingest_landed(conn: psycopg.Connection, landing, tokenizer: Tokenizer) -> list[BatchResult]:
    """Ingest every day files landed under. The web app files a batch under its day of
    receipt, which the clock read again after a post no longer gives once midnight UTC passed."""
    return [
        result
        for day in sorted(partition_folders(landing))
        for result in ingest_partition(conn, landing, day, tokenizer)
    ]


def write_reference(root: Path, enrollments: list[tuple[str, str, str]], lessons_per_course: int = 3) -> None:
    ref = root / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    orgs = sorted({org for org, _, _ in enrollments})
    courses = sorted({course for _, _, course in enrollments})
    tables = {
        "organizations": (["org_id", "name"], [[o, f"Org {o}"] for o in orgs]),
        "courses": (["course_id", "title"], [[c, f"Course {c}"] for c in courses]),
        "lessons": (
            ["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"],
            [
                [f"{c}_l{p}", c, p, f"Lesson {p}", "video", 300]
                for c in courses
                for p in range(1, lessons_per_course + 1)
            ],
        ),
        "enrollments": (
            ["org_id", "user_id", "course_id", "assigned_at", "due_at"],
            [[o, u, c, "2026-01-01T00:00:00Z", ""] for o, u, c in enrollments],
        ),
    }
    for name, (header, rows) in tables.items():
        with (ref / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def event(
    user: str,
    course: str,
    event_type: str = "lesson_started",
    *,
    lesson: int | None = 1,
    org: str | None = None,
    day: str = "2026-02-01",
    event_id: str | None = None,
    **extra,
) -> dict:
    body = {
        "clientEventId": event_id or str(uuid.uuid4()),
        "eventType": event_type,
        "occurredAt": f"{day}T10:00:00Z",
        "receivedAt": f"{day}T10:00:05Z",
        "userId": user,
        "courseId": course,
        "user": {"email": f"{user}@example.org", "name": f"Learner {user.title()}"},
    }
    if lesson is not None:
        body["lessonId"] = f"{course}_l{lesson}"
    if org:
        body["orgId"] = org
    body.update(extra)
    return body


def write_batch(root: Path, day: str, lines: list, name: str | None = None, gz: bool = False) -> Path:
    """`lines` holds dicts (serialized as JSON) or raw bytes (written as they are)."""
    folder = root / "events" / f"received_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    payload = b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines) + b"\n"
    path = folder / f"{name or uuid.uuid4()}.ndjson{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path
