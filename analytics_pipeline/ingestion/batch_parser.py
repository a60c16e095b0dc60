"""Read and validate one batch file: each line becomes an event row, as the writer COPYs it
into raw.analytics_events, or a dead letter.

Parsing touches no database (`known_reference` reads the snapshots before it starts), so a
partition's files can be parsed while the previous group of files is being written
(`partition.py`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import NamedTuple

import msgspec
import psycopg
from msgspec.structs import astuple

from analytics_pipeline.ingestion.caliper.mapping import check_caliper_line
from analytics_pipeline.ingestion.contract import (
    Event,
    Rejection,
    check_line,
    latest_received_at,
)
from analytics_pipeline.ingestion.landing import BatchFile, read_lines
from analytics_pipeline.ingestion.pii import Tokenizer, redact_excerpt
from analytics_pipeline.ingestion.xapi.mapping import check_statement_line

# An accepted event's row is raw.analytics_events' row as the writer COPYs it, in these
# columns with these binary COPY types. It is built here whole but for the org, which needs
# the enrollments: the writer fills that slot once it has deduplicated the group. The event id
# (16 bytes) and properties (jsonb's binary input: a version byte, then the JSON text) are
# encoded here and typed bytea so that psycopg passes them on untouched: binary COPY hands
# each field to its column's own input function.
EVENT_COLUMNS = {
    "received_date": "date",
    "client_event_id": "bytea",
    "event_type": "text",
    "occurred_at": "timestamptz",
    "received_at": "timestamptz",
    "user_token": "text",
    "org_id": "text",
    "claimed_org_id": "text",
    "course_id": "text",
    "lesson_id": "text",
    "session_id": "text",
    "properties": "bytea",
    "batch_id": "text",
    "line_no": "int4",
}
ID, RECEIVED_AT, USER, ORG, CLAIMED, COURSE, BATCH, LINE_NO = (
    list(EVENT_COLUMNS).index(name)
    for name in (
        "client_event_id",
        "received_at",
        "user_token",
        "org_id",
        "claimed_org_id",
        "course_id",
        "batch_id",
        "line_no",
    )
)
JSONB_V1 = b"\x01"
EMPTY_JSONB = JSONB_V1 + b"{}"


@dataclass
class ParsedBatch:
    batch: BatchFile
    events: list[list] = field(default_factory=list)
    free_texts: dict[bytes, str] = field(default_factory=dict)  # scrubbed survey text by event id
    dead_letters: list[tuple] = field(default_factory=list)
    # Events posted with a write key bound to an org: event id -> that org (writer.py).
    key_orgs: dict[bytes, str] = field(default_factory=dict)
    # The learners the events' `user` objects name: token -> (name, e-mail), sealed for the
    # learner directory (none without a sealer).
    users: dict[str, tuple[bytes | None, bytes | None]] = field(default_factory=dict)
    lines: int = 0
    max_received_at: datetime | None = None
    # Set when the file itself cannot be read (corrupt or truncated compression, gone):
    # then no line of it is trusted, and it is set aside whole.
    unreadable: str | None = None


ATTEMPT_FIELDS = ("attemptId", "gradeOf")


def _event_row(batch: BatchFile, line_no: int, event: Event, tokenizer: Tokenizer, parsed: ParsedBatch) -> list:
    # All fields in one call, in contract.EVENT_FIELDS' order: an event is of one of a dozen
    # classes, so each attribute read would take Python's slow, unspecialized path.
    (
        event_uuid,
        occurred_at,
        received_at,
        user_id,
        course_id,
        org_id,
        session_id,
        lesson_id,
        properties,
        user,
        key_org_id,
    ) = astuple(event)
    event_id = event_uuid.int.to_bytes(16)  # UUID.bytes, without its Python property
    if key_org_id is not None:
        parsed.key_orgs[event_id] = key_org_id
        org_id = key_org_id
    properties_jsonb = EMPTY_JSONB
    if properties:
        # Null fields are not stored, nor is the free text (kept apart, scrubbed): that takes a copy.
        if None in properties.values() or "freeText" in properties:
            properties = {k: v for k, v in properties.items() if v is not None}
        free_text = properties.pop("freeText", None)
        # An attempt's id often embeds its learner's (Caliper attempt IRIs): kept as a token,
        # which still links a submission to its grade.
        if event.eventType == "quiz_submitted":  # the one type that carries them: no look elsewhere
            for field in ATTEMPT_FIELDS:
                if field in properties:
                    properties = {**properties, field: tokenizer.token(str(properties[field]))}
        name = user.name if user else None
        if free_text:
            parsed.free_texts[event_id] = tokenizer.scrub(free_text, name=name)
        # msgspec, not orjson: the contract lets integers past 64 bits through, as jsonb does.
        properties_json = msgspec.json.encode(properties)
        # `partition`, not `in`, for speed: as in contract.check_line.
        if properties_json.partition(b"@")[1] or (name and properties_json.partition(name.encode())[1]):
            properties_json = tokenizer.scrub(properties_json.decode(), name=name).encode()
        properties_jsonb = JSONB_V1 + properties_json
    user_token = tokenizer.token(user_id)
    if user is not None and user_token not in parsed.users and tokenizer.sealer and (user.name or user.email):
        sealer = tokenizer.sealer
        parsed.users[user_token] = (
            sealer.seal(user_token, "name", user.name),
            sealer.seal(user_token, "email", user.email),
        )
    return [
        batch.received_date,
        event_id,
        event.eventType,
        occurred_at,
        received_at,
        user_token,
        None,  # the org: the writer resolves it
        org_id,
        course_id,
        lesson_id,
        session_id,
        properties_jsonb,
        batch.batch_id,
        line_no,
    ]


_received_at = itemgetter(RECEIVED_AT)


def unknown_course(event: Event) -> Rejection:
    """A course the snapshot does not know (yet) is dead-lettered: it can be replayed once the
    snapshot catches up."""
    return Rejection("unknown_course", f"courseId {event.courseId[:80]!r} is not in the courses snapshot")


class KnownReference(NamedTuple):
    """The course and lesson ids of the reference snapshots, as parsing checks events against them."""

    courses: frozenset[str]
    lessons: frozenset[str]


def known_reference(conn: psycopg.Connection) -> KnownReference:
    return KnownReference(
        frozenset(r[0] for r in conn.execute("SELECT course_id FROM raw.courses")),
        frozenset(r[0] for r in conn.execute("SELECT lesson_id FROM raw.lessons")),
    )


def parse_batch(
    batch: BatchFile, tokenizer: Tokenizer, known: KnownReference, only_lines: set[int] | None = None
) -> ParsedBatch:
    """Validate a batch file's lines (or only the given line numbers). An unreadable file
    comes back with `unreadable` set and no events or dead letters."""
    parsed = ParsedBatch(batch)
    try:
        _parse_lines(parsed, tokenizer, known, only_lines)
    except (OSError, EOFError, zlib.error) as exc:
        return ParsedBatch(batch, unreadable=f"{type(exc).__name__}: {exc}"[:500])
    return parsed


def _parse_lines(parsed: ParsedBatch, tokenizer: Tokenizer, known: KnownReference, only_lines: set[int] | None) -> None:
    # The loop runs once per landed line: its names are local and it calls no more than it must.
    batch, courses = parsed.batch, known.courses
    latest = latest_received_at()
    check = check_line
    if batch.xapi or batch.caliper:
        check = partial(check_caliper_line if batch.caliper else check_statement_line, lessons=known.lessons)
    events, dead_letters = parsed.events, parsed.dead_letters
    line_no = 0
    for line_no, raw in enumerate(read_lines(batch), start=1):
        if only_lines is not None and line_no not in only_lines:
            continue
        outcome = check(raw, latest)
        if not isinstance(outcome, Rejection):
            if outcome.courseId in courses:
                events.append(_event_row(batch, line_no, outcome, tokenizer, parsed))
                continue
            outcome = unknown_course(outcome)
        dead_letters.append(
            (
                batch.received_date,
                batch.batch_id,
                line_no,
                batch.landing_path,
                outcome.code,
                outcome.reason,
                redact_excerpt(raw),
            )
        )
    parsed.lines = line_no
    parsed.max_received_at = max(map(_received_at, events), default=None)
