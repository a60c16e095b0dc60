"""The event contract with the LMS API (shared/DESIGN.md), as pydantic-validated TypedDicts.

`check_line` turns one landing line into either a validated `Event` (a dict) or a
`Rejection` with a precise reason; it never raises on bad input. TypedDicts rather than
models: ingestion validates every landed line, and pydantic builds a dict for a fraction of
what a model instance costs, straight from the JSON bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal, Union, get_args, get_type_hints
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import NotRequired, TypedDict

MAX_LINE_BYTES = 64 * 1024
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Clients' clocks drift: an event may claim to have happened a little after it was received.
CLOCK_SKEW = timedelta(hours=1)

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Seconds = Annotated[float, Field(ge=0, le=7 * 24 * 3600)]
Timestamp = Annotated[AwareDatetime, Field(ge=EARLIEST)]
# Property and user objects keep the fields the contract does not name.
OPEN = ConfigDict(extra="allow")


class Props(TypedDict):
    __pydantic_config__ = OPEN  # type: ignore[misc]


class VideoProps(TypedDict):
    __pydantic_config__ = OPEN  # type: ignore[misc]
    positionSeconds: NotRequired[Seconds | None]
    durationSeconds: NotRequired[Annotated[float, Field(gt=0, le=7 * 24 * 3600)] | None]


def _position_within_duration(props: VideoProps) -> VideoProps:
    position, duration = props.get("positionSeconds"), props.get("durationSeconds")
    if position is not None and duration is not None and position > duration:
        raise ValueError("positionSeconds is greater than durationSeconds")
    return props


class QuizAnsweredProps(TypedDict):
    __pydantic_config__ = OPEN  # type: ignore[misc]
    questionId: NonEmpty
    correct: bool


class QuizSubmittedProps(TypedDict):
    __pydantic_config__ = OPEN  # type: ignore[misc]
    score: Annotated[float, Field(ge=0)]
    maxScore: Annotated[float, Field(gt=0)]
    passed: bool


def _score_within_max(props: QuizSubmittedProps) -> QuizSubmittedProps:
    if props["score"] > props["maxScore"]:
        raise ValueError("score is greater than maxScore")
    return props


class SurveyProps(TypedDict):
    __pydantic_config__ = OPEN  # type: ignore[misc]
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    freeText: NotRequired[Annotated[str, StringConstraints(max_length=10_000)] | None]


class UserInfo(TypedDict):
    """Personal data: read only to scrub it from free text, never stored."""

    __pydantic_config__ = OPEN  # type: ignore[misc]
    email: NotRequired[str | None]
    name: NotRequired[str | None]


class _EventBase(TypedDict):
    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]
    clientEventId: UUID
    occurredAt: Timestamp
    receivedAt: Timestamp
    userId: NonEmpty
    courseId: NonEmpty
    orgId: NotRequired[NonEmpty | None]
    sessionId: NotRequired[NonEmpty | None]
    lessonId: NotRequired[NonEmpty | None]
    properties: NotRequired[Props]
    user: NotRequired[UserInfo | None]


class CourseEvent(_EventBase):
    eventType: Literal["course_started", "course_completed", "page_viewed"]


class LessonEvent(_EventBase):
    eventType: Literal["lesson_started", "lesson_completed", "quiz_started"]
    lessonId: NonEmpty


class VideoEvent(_EventBase):
    eventType: Literal["video_played", "video_paused", "video_progress", "video_completed"]
    lessonId: NonEmpty
    properties: NotRequired[Annotated[VideoProps, AfterValidator(_position_within_duration)]]


class QuizAnsweredEvent(_EventBase):
    eventType: Literal["quiz_answered"]
    lessonId: NonEmpty
    properties: QuizAnsweredProps


class QuizSubmittedEvent(_EventBase):
    eventType: Literal["quiz_submitted"]
    lessonId: NonEmpty
    properties: Annotated[QuizSubmittedProps, AfterValidator(_score_within_max)]


class SurveyEvent(_EventBase):
    eventType: Literal["survey_submitted"]
    properties: SurveyProps


EVENT_MODELS = (CourseEvent, LessonEvent, VideoEvent, QuizAnsweredEvent, QuizSubmittedEvent, SurveyEvent)
Event = Annotated[Union[EVENT_MODELS], Field(discriminator="eventType")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES = frozenset(value for model in EVENT_MODELS for value in get_args(get_type_hints(model)["eventType"]))


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


def _rejection_from(error: ValidationError) -> Rejection:
    first = error.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"] if part not in EVENT_TYPES)
    kind = first["type"]
    if kind == "json_invalid":
        return Rejection("invalid_json", f"not valid UTF-8 JSON: {first['msg']}"[:300])
    if kind in ("model_attributes_type", "dict_type") and not loc:
        return Rejection("invalid_json", "expected a JSON object")
    if kind == "union_tag_not_found" or (kind == "missing" and loc):
        field = loc or "eventType"
        return Rejection("missing_field", f"missing required field {field}")
    if kind == "union_tag_invalid":
        tag = first.get("ctx", {}).get("tag", "?")
        return Rejection("unknown_event_type", f"unknown eventType {str(tag)[:80]!r}")
    message = first["msg"].removeprefix("Value error, ")
    where = f"{loc}: " if loc else ""
    return Rejection("invalid_value", f"{where}{message}"[:500])


_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def latest_received_at(now: datetime | None = None) -> datetime:
    """The latest receivedAt plausible at `now`. Made by pydantic, as the events' times are:
    compared with them (the same tzinfo object) it costs a tenth of a comparison with a
    `timezone.utc` datetime, and ingestion compares every event with it."""
    return _TIMESTAMP.validate_python(((now or datetime.now(timezone.utc)) + CLOCK_SKEW).isoformat())


def _implausible_times(event: Event, latest: datetime) -> Rejection | None:
    """Times no client can honestly send, beyond the contract's floor."""
    received, occurred = event["receivedAt"], event["occurredAt"]
    if received > latest:
        return Rejection("invalid_value", "receivedAt is in the future")
    if occurred > received + CLOCK_SKEW:
        return Rejection("invalid_value", "occurredAt is after receivedAt")
    return None


def check_line(raw: bytes, latest: datetime | None = None) -> Event | Rejection:
    """Validate one landing line against the contract. `latest` is `latest_received_at()`:
    a caller checking many lines reads the clock once (read per line, it costs as much as a
    third of the validation)."""
    if len(raw) > MAX_LINE_BYTES:
        return Rejection("line_too_long", f"line is over the {MAX_LINE_BYTES}-byte limit")
    if not raw.strip():
        return Rejection("empty_line", "empty line")
    # PostgreSQL text cannot hold NUL, raw or JSON-escaped.
    if b"\x00" in raw or b"\\u0000" in raw:
        return Rejection("invalid_encoding", "line contains a NUL character")
    try:
        event = EVENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        return _rejection_from(exc)
    return _implausible_times(event, latest or latest_received_at()) or event
