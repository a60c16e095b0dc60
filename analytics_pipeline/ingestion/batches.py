"""Ingest one batch file: validate, tokenize, dedupe, resolve orgs, write, record the ledger.

Everything a batch writes (events, ids, dead letters, free text, its ledger row) commits in
one transaction, under an advisory lock on the batch. So a run killed mid-batch leaves
nothing behind, and two runs of one partition at once serialize per batch: the second finds
the ledger row and skips the batch instead of counting it again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import orjson
import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.contract import Rejection, check_line
from analytics_pipeline.ingestion.landing import BatchFile, read_lines
from analytics_pipeline.ingestion.pii import Tokenizer, redact_excerpt

STAGE_COLUMNS = (
    "line_no, client_event_id, event_type, occurred_at, received_at, user_token, "
    "claimed_org_id, course_id, lesson_id, session_id, properties, free_text"
)
DEAD_LETTER_COLUMNS = "received_date, batch_id, line_no, landing_path, reason_code, reason, excerpt"


@dataclass(frozen=True)
class BatchResult:
    received_date: date
    batch_id: str
    lines: int
    accepted: int
    duplicates: int
    dead_lettered: int
    unresolved_org: int
    quarantined: str | None = None  # why the whole file was set aside, when it was


@dataclass
class _ParsedBatch:
    events: list[tuple]
    dead_letters: list[tuple]
    lines: int = 0
    max_received_at: object = None


def _event_row(line_no: int, event, tokenizer: Tokenizer) -> tuple:
    properties = event.properties.model_dump(exclude_none=True)
    free_text = properties.pop("freeText", None)
    name = event.user.name if event.user else None
    if free_text:
        free_text = tokenizer.scrub(free_text, name=name)
    properties_json = orjson.dumps(properties).decode()
    if "@" in properties_json or (name and name in properties_json):
        properties_json = tokenizer.scrub(properties_json, name=name)
    return (
        line_no,
        event.clientEventId,
        event.eventType,
        event.occurredAt,
        event.receivedAt,
        tokenizer.token(event.userId),
        event.orgId,
        event.courseId,
        event.lessonId,
        event.sessionId,
        properties_json,
        free_text,
    )


class UnreadableBatch(Exception):
    """The file itself cannot be read (corrupt or truncated compression): no line is trusted."""


def check_event(raw: bytes, courses: frozenset[str]):
    """The contract, then the reference data: a course the snapshot does not know (yet) is
    dead-lettered, and can be replayed once the snapshot catches up."""
    outcome = check_line(raw)
    if not isinstance(outcome, Rejection) and outcome.courseId not in courses:
        return Rejection("unknown_course", f"courseId {outcome.courseId[:80]!r} is not in the courses snapshot")
    return outcome


def known_courses(conn: psycopg.Connection) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute("SELECT course_id FROM raw.courses"))


def parse_batch(batch: BatchFile, tokenizer: Tokenizer, courses: frozenset[str],
                only_lines: set[int] | None = None) -> _ParsedBatch:
    """Validate a batch file's lines (or only the given line numbers)."""
    try:
        return _parse_lines(batch, tokenizer, courses, only_lines)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableBatch(f"{type(exc).__name__}: {exc}"[:500]) from exc


def _parse_lines(batch: BatchFile, tokenizer: Tokenizer, courses: frozenset[str],
                 only_lines: set[int] | None) -> _ParsedBatch:
    parsed = _ParsedBatch(events=[], dead_letters=[])
    for line_no, raw in enumerate(read_lines(batch), start=1):
        parsed.lines = line_no
        if only_lines is not None and line_no not in only_lines:
            continue
        outcome = check_event(raw, courses)
        if isinstance(outcome, Rejection):
            parsed.dead_letters.append(
                (batch.received_date, batch.batch_id, line_no, batch.landing_path,
                 outcome.code, outcome.reason, redact_excerpt(raw))
            )
            continue
        parsed.events.append(_event_row(line_no, outcome, tokenizer))
        if parsed.max_received_at is None or outcome.receivedAt > parsed.max_received_at:
            parsed.max_received_at = outcome.receivedAt
    return parsed


def is_ingested(conn: psycopg.Connection, batch: BatchFile) -> bool:
    return conn.execute(
        "SELECT 1 FROM raw.analytics_event_batches WHERE received_date = %s AND batch_id = %s",
        (batch.received_date, batch.batch_id),
    ).fetchone() is not None


def _quarantine(conn: psycopg.Connection, batch: BatchFile, reason: str) -> BatchResult | None:
    with conn.transaction():
        lock_batch(conn, batch)
        inserted = conn.execute(
            "INSERT INTO raw.analytics_quarantined_files (received_date, batch_id, landing_path, reason)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (batch.received_date, batch.batch_id, batch.landing_path, reason),
        ).rowcount
    if not inserted:
        return None
    return BatchResult(batch.received_date, batch.batch_id, 0, 0, 0, 0, 0, quarantined=reason)


def lock_batch(conn: psycopg.Connection, batch: BatchFile) -> None:
    """Serialize everything that writes one batch (ingestion, replay), until commit."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (batch.landing_path,))


def write_events(conn: psycopg.Connection, batch: BatchFile, events: list[tuple]) -> tuple[int, int]:
    """Dedupe, resolve and store validated rows of a batch, inside the caller's transaction.
    Returns (accepted, unresolved_org)."""
    conn.execute("SELECT raw.ensure_analytics_events_partition(%s)", (batch.received_date,))
    conn.execute(load_sql("ingest/create_stage"))
    with conn.cursor() as cur, cur.copy(f"COPY pg_temp.stage_events ({STAGE_COLUMNS}) FROM STDIN") as copy:
        for row in events:
            copy.write_row(row)
    return conn.execute(
        load_sql("ingest/merge_batch"), {"received_date": batch.received_date, "batch_id": batch.batch_id}
    ).fetchone()


def ingest_batch(conn: psycopg.Connection, batch: BatchFile, tokenizer: Tokenizer,
                 courses: frozenset[str]) -> BatchResult | None:
    """Ingest a batch file; None when it was already ingested (by this or a concurrent run).
    An unreadable file is quarantined whole instead, with its reason."""
    try:
        parsed = parse_batch(batch, tokenizer, courses)
    except UnreadableBatch as exc:
        return _quarantine(conn, batch, str(exc))
    with conn.transaction():
        lock_batch(conn, batch)
        if is_ingested(conn, batch):
            return None
        accepted, unresolved = write_events(conn, batch, parsed.events)
        with conn.cursor() as cur, cur.copy(f"COPY raw.analytics_dead_letters ({DEAD_LETTER_COLUMNS}) FROM STDIN") as copy:
            for row in parsed.dead_letters:
                copy.write_row(row)
        result = BatchResult(
            received_date=batch.received_date,
            batch_id=batch.batch_id,
            lines=parsed.lines,
            accepted=accepted,
            duplicates=len(parsed.events) - accepted,
            dead_lettered=len(parsed.dead_letters),
            unresolved_org=unresolved,
        )
        conn.execute(
            load_sql("ingest/record_batch"),
            {**result.__dict__, "landing_path": batch.landing_path, "max_received_at": parsed.max_received_at},
        )
    return result
