"""Read and validate one batch file: each line becomes a staged event row or a dead letter.

Parsing touches no database (`known_courses` reads the course snapshot before it starts), so a
partition's files can be parsed while the previous group of files is being written
(`partition.py`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import psycopg

from analytics_pipeline.ingestion.contract import (
    Event,
    Rejection,
    check_line,
    latest_received_at,
)
from analytics_pipeline.ingestion.landing import BatchFile, read_lines
from analytics_pipeline.ingestion.pii import Tokenizer, redact_excerpt


@dataclass
class ParsedBatch:
    batch: BatchFile
    events: list[tuple] = field(default_factory=list)  # rows for pg_temp.stage_events, minus the batch columns
    dead_letters: list[tuple] = field(default_factory=list)
    lines: int = 0
    max_received_at: datetime | None = None
    # Set when the file itself cannot be read (corrupt or truncated compression, gone):
    # then no line of it is trusted, and it is set aside whole.
    unreadable: str | None = None


def _event_row(line_no: int, event: Event, tokenizer: Tokenizer) -> tuple:
    properties = {k: v for k, v in event.get("properties", {}).items() if v is not None}
    free_text = properties.pop("freeText", None)
    name = (event.get("user") or {}).get("name")
    if free_text:
        free_text = tokenizer.scrub(free_text, name=name)
    properties_json = orjson.dumps(properties).decode()
    if "@" in properties_json or (name and name in properties_json):
        properties_json = tokenizer.scrub(properties_json, name=name)
    return (
        line_no,
        event["clientEventId"],
        event["eventType"],
        event["occurredAt"],
        event["receivedAt"],
        tokenizer.token(event["userId"]),
        event.get("orgId"),
        event["courseId"],
        event.get("lessonId"),
        event.get("sessionId"),
        properties_json,
        free_text,
    )


def check_event(raw: bytes, courses: frozenset[str], latest: datetime | None = None):
    """The contract, then the reference data: a course the snapshot does not know (yet) is
    dead-lettered, and can be replayed once the snapshot catches up."""
    outcome = check_line(raw, latest)
    if not isinstance(outcome, Rejection) and outcome["courseId"] not in courses:
        return Rejection("unknown_course", f"courseId {outcome['courseId'][:80]!r} is not in the courses snapshot")
    return outcome


def known_courses(conn: psycopg.Connection) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute("SELECT course_id FROM raw.courses"))


def parse_batch(batch: BatchFile, tokenizer: Tokenizer, courses: frozenset[str],
                only_lines: set[int] | None = None) -> ParsedBatch:
    """Validate a batch file's lines (or only the given line numbers). An unreadable file
    comes back with `unreadable` set and no events or dead letters."""
    parsed = ParsedBatch(batch)
    try:
        _parse_lines(parsed, tokenizer, courses, only_lines)
    except (OSError, EOFError, zlib.error) as exc:
        return ParsedBatch(batch, unreadable=f"{type(exc).__name__}: {exc}"[:500])
    return parsed


def _parse_lines(parsed: ParsedBatch, tokenizer: Tokenizer, courses: frozenset[str],
                 only_lines: set[int] | None) -> None:
    batch = parsed.batch
    latest = latest_received_at()
    for line_no, raw in enumerate(read_lines(batch), start=1):
        parsed.lines = line_no
        if only_lines is not None and line_no not in only_lines:
            continue
        outcome = check_event(raw, courses, latest)
        if isinstance(outcome, Rejection):
            parsed.dead_letters.append(
                (batch.received_date, batch.batch_id, line_no, batch.landing_path,
                 outcome.code, outcome.reason, redact_excerpt(raw))
            )
            continue
        parsed.events.append(_event_row(line_no, outcome, tokenizer))
        if parsed.max_received_at is None or outcome["receivedAt"] > parsed.max_received_at:
            parsed.max_received_at = outcome["receivedAt"]
