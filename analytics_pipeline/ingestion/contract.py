"""The event contract with the LMS API (docs/events.md), as msgspec Structs.

`check_line` turns one landing line into either a validated `Event` or a `Rejection` with a
precise reason; it never raises on bad input. msgspec parses and validates a line in one pass
in C, straight from the bytes, because ingestion checks every landed line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Union
from uuid import UUID

import msgspec
import orjson
from msgspec import Meta, Struct

MAX_LINE_BYTES = 64 * 1024
# No event or statement a real client sends is nested deeper than this; JSON encoders refuse
# far deeper values, and the web app answers a deeper one as the client's mistake.
MAX_NESTING = 32
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Clients' clocks drift: an event may claim to have happened a little after it was received.
CLOCK_SKEW = timedelta(hours=1)
WEEK_SECONDS = 7 * 24 * 3600

NonEmpty = Annotated[str, Meta(min_length=1, max_length=200)]
Seconds = Annotated[float, Meta(ge=0, le=WEEK_SECONDS)]
Timestamp = Annotated[datetime, Meta(tz=True)]


# Property schemas name the fields a type must or may carry; `properties` keeps every field
# as it came, the ones the contract does not name included.
class VideoProps(Struct):
    positionSeconds: Seconds | None = None
    durationSeconds: Annotated[float, Meta(gt=0, le=WEEK_SECONDS)] | None = None

    def __post_init__(self) -> None:
        position, duration = self.positionSeconds, self.durationSeconds
        if position is not None and duration is not None and position > duration:
            raise ValueError("positionSeconds is greater than durationSeconds")


class _Scored(Struct):
    """A score: `score` out of `maxScore`, and the scaled score (-1 to 1) where the client
    gives one. A score comes with its maximum or not at all."""

    score: Annotated[float, Meta(ge=0)] | None = None
    maxScore: Annotated[float, Meta(gt=0)] | None = None
    scaledScore: Annotated[float, Meta(ge=-1, le=1)] | None = None

    def __post_init__(self) -> None:
        if (self.score is None) != (self.maxScore is None):
            raise ValueError("score and maxScore come together")
        if self.score is not None and self.score > self.maxScore:
            raise ValueError("score is greater than maxScore")


class QuizAnsweredProps(_Scored, kw_only=True):
    """An answer; one whose correctness the client does not know (`correct` absent) counts as
    an attempt, not in correctness rates."""

    questionId: NonEmpty
    correct: bool | None = None


class QuizSubmittedProps(_Scored, kw_only=True):
    """A submitted attempt. Where the grade comes later (Caliper), the submission carries
    `attemptId` and no score, and its grade is a `quiz_submitted` with `gradeOf` naming the
    attempt, the score and `passed` where the grader says: the attempt counts once, as
    submitted, its result from its grade."""

    passed: bool | None = None
    attemptId: NonEmpty | None = None
    gradeOf: NonEmpty | None = None


class SurveyProps(Struct):
    rating: Annotated[int, Meta(ge=1, le=5)]
    freeText: Annotated[str, Meta(max_length=10_000)] | None = None


class UserInfo(Struct):
    """Personal data: read only to scrub it from free text, never stored."""

    email: str | None = None
    name: str | None = None


class Event(Struct, kw_only=True, tag_field="eventType"):
    eventType: ClassVar[str]  # the tag: each event type is a class of its own (below)
    PROPERTIES: ClassVar[type[Struct] | None] = None  # the schema of `properties`, if the type has one

    clientEventId: UUID
    occurredAt: Timestamp
    receivedAt: Timestamp
    userId: NonEmpty
    courseId: NonEmpty
    orgId: NonEmpty | None = None
    sessionId: NonEmpty | None = None
    lessonId: NonEmpty | None = None
    properties: dict[str, Any] = {}
    user: UserInfo | None = None
    # The org of the write key the event was posted with, stamped by the web app (a client's
    # own value is never kept): the event belongs to that org or to none (writer.py).
    keyOrgId: NonEmpty | None = None


class _CourseEvent(Event, kw_only=True):
    pass


class _LessonEvent(Event, kw_only=True):
    lessonId: NonEmpty


class _VideoEvent(_LessonEvent, kw_only=True):
    PROPERTIES = VideoProps


class _QuizAnsweredEvent(_LessonEvent, kw_only=True):
    PROPERTIES = QuizAnsweredProps
    properties: dict[str, Any]


class _QuizSubmittedEvent(_LessonEvent, kw_only=True):
    PROPERTIES = QuizSubmittedProps
    properties: dict[str, Any]


class _SurveyEvent(Event, kw_only=True):
    PROPERTIES = SurveyProps
    properties: dict[str, Any]


_TYPES_BY_KIND: dict[type[Event], tuple[str, ...]] = {
    _CourseEvent: ("course_started", "course_completed", "page_viewed"),
    _LessonEvent: ("lesson_started", "lesson_completed", "quiz_started"),
    _VideoEvent: ("video_played", "video_paused", "video_progress", "video_completed"),
    _QuizAnsweredEvent: ("quiz_answered",),
    _QuizSubmittedEvent: ("quiz_submitted",),
    _SurveyEvent: ("survey_submitted",),
}
# msgspec picks a Struct by its tag, one tag a class: one class per event type.
_EVENT_CLASSES = tuple(
    msgspec.defstruct(event_type, [], bases=(kind,), tag=event_type, kw_only=True, namespace={"eventType": event_type})
    for kind, event_types in _TYPES_BY_KIND.items()
    for event_type in event_types
)
EVENT_TYPES = frozenset(cls.eventType for cls in _EVENT_CLASSES)
# Every class keeps Event's fields in Event's order: ingestion reads them by position
# (`msgspec.structs.astuple`, batch_parser.py).
EVENT_FIELDS = Event.__struct_fields__
if any(cls.__struct_fields__ != EVENT_FIELDS for cls in _EVENT_CLASSES):
    raise TypeError("an event class reorders Event's fields")
_DECODER = msgspec.json.Decoder(Union[_EVENT_CLASSES])  # noqa: UP007 (a Union over a tuple of classes)


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


NUL_REJECTION = Rejection("invalid_encoding", "line contains a NUL character")

# msgspec's messages end with where the error is: "... - at `$.properties.rating`".
_WHERE = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


def _rejection_from(error: msgspec.ValidationError, within: str = "") -> Rejection:
    found = _WHERE.match(str(error))
    message = found["message"]
    path = ".".join(part for part in (within, found["path"]) if part)
    if message.startswith("Object missing required field"):
        field = ".".join(part for part in (path, message.split("`")[1]) if part)
        return Rejection("missing_field", f"missing required field {field}")
    if not path and message.startswith("Expected `object`"):
        return Rejection("invalid_json", "expected a JSON object")
    if path == "eventType" and message.startswith("Invalid value"):
        return Rejection("unknown_event_type", f"unknown eventType {message.removeprefix('Invalid value ')[:80]}")
    return Rejection("invalid_value", (f"{path}: {message}" if path else message)[:500])


def latest_received_at(now: datetime | None = None) -> datetime:
    """The latest receivedAt plausible at `now`."""
    return (now or datetime.now(UTC)) + CLOCK_SKEW


def _not_json(line: bytes, error: msgspec.DecodeError) -> Rejection:
    """Why a line does not decode, told from the line without its ending: a cut-off line's
    ending sits inside its last string, and msgspec would name a bad character, not the cut."""
    if not line or line.isspace():
        return Rejection("empty_line", "empty line")
    if b"\x00" in line:
        return NUL_REJECTION
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError as exc:
        error = exc
    return Rejection("invalid_json", f"not valid UTF-8 JSON: {error}"[:300])


def check_line(raw: bytes, latest: datetime | None = None) -> Event | Rejection:
    """Validate one landing line against the contract. `latest` is `latest_received_at()`:
    a caller checking many lines reads the clock once."""
    if len(raw) > MAX_LINE_BYTES and len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:  # a line may end in CRLF
        return Rejection("line_too_long", f"line is over the {MAX_LINE_BYTES}-byte limit")
    # PostgreSQL text cannot hold NUL. JSON-escaped it is valid JSON, so it is looked for (a
    # line without a backslash, most of them, is cleared by one memchr); raw it is not, so only
    # a line that fails to decode is searched for it. `partition`, not `in`: `in` tries its
    # operand as an integer first and raises and clears a TypeError on every line.
    if raw.partition(b"\\")[1] and raw.find(b"\\u0000") >= 0:
        return NUL_REJECTION
    try:
        event = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        return NUL_REJECTION if b"\x00" in raw else _rejection_from(exc)
    except msgspec.DecodeError as exc:
        return _not_json(raw.rstrip(b"\r\n"), exc)
    if event.PROPERTIES is not None:
        try:
            msgspec.convert(event.properties, event.PROPERTIES)
        except msgspec.ValidationError as exc:
            return _rejection_from(exc, within="properties")
    # Times no client can honestly send: before the contract's floor, in the future, or an
    # event received before it happened. (Inline: a call per line costs more than the checks.)
    latest = latest or latest_received_at()
    received, occurred = event.receivedAt, event.occurredAt
    if occurred < EARLIEST or received < EARLIEST:
        name = "occurredAt" if occurred < EARLIEST else "receivedAt"
        return Rejection("invalid_value", f"{name}: before {EARLIEST:%Y-%m-%d}")
    if received > latest:
        return Rejection("invalid_value", "receivedAt is in the future")
    if occurred > received + CLOCK_SKEW:
        return Rejection("invalid_value", "occurredAt is after receivedAt")
    return event


def json_line(raw: bytes) -> Any | Rejection:
    """The JSON value of a landed line of another form (xAPI, Caliper), or why it has none."""
    if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        return Rejection("line_too_long", f"line is over the {MAX_LINE_BYTES}-byte limit")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            return Rejection("empty_line", "empty line")
        return Rejection("invalid_json", f"not valid UTF-8 JSON: {exc}"[:300])


def nested_deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether a parsed JSON value holds containers more than `limit` levels deep."""
    level, current = 0, [value]
    while current:
        level += 1
        if level > limit:
            return True
        current = [
            child
            for item in current
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return False
