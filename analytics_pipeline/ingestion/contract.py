"""The event contract with the LMS API (shared/DESIGN.md), as pydantic models.

`check_line` turns one landing line into either a validated `Event` or a `Rejection` with a
precise reason; it never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal, Union
from uuid import UUID

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MAX_LINE_BYTES = 64 * 1024
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Clients' clocks drift: an event may claim to have happened a little after it was received.
CLOCK_SKEW = timedelta(hours=1)

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Seconds = Annotated[float, Field(ge=0, le=7 * 24 * 3600)]


class _Props(BaseModel):
    model_config = ConfigDict(extra="allow")


class VideoProps(_Props):
    positionSeconds: Seconds | None = None
    durationSeconds: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] | None = None

    @model_validator(mode="after")
    def _position_within_duration(self):
        if (
            self.positionSeconds is not None
            and self.durationSeconds is not None
            and self.positionSeconds > self.durationSeconds
        ):
            raise ValueError("positionSeconds is greater than durationSeconds")
        return self


class QuizAnsweredProps(_Props):
    questionId: NonEmpty
    correct: bool


class QuizSubmittedProps(_Props):
    score: Annotated[float, Field(ge=0)]
    maxScore: Annotated[float, Field(gt=0)]
    passed: bool

    @model_validator(mode="after")
    def _score_within_max(self):
        if self.score > self.maxScore:
            raise ValueError("score is greater than maxScore")
        return self


class SurveyProps(_Props):
    rating: Annotated[int, Field(ge=1, le=5, strict=True)]
    freeText: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class UserInfo(BaseModel):
    """Personal data: read only to scrub it from free text, never stored."""

    model_config = ConfigDict(extra="allow")
    email: str | None = None
    name: str | None = None


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    clientEventId: UUID
    occurredAt: AwareDatetime
    receivedAt: AwareDatetime
    userId: NonEmpty
    courseId: NonEmpty
    orgId: NonEmpty | None = None
    sessionId: NonEmpty | None = None
    lessonId: NonEmpty | None = None
    properties: _Props = Field(default_factory=_Props)
    user: UserInfo | None = None

    @model_validator(mode="after")
    def _plausible_times(self):
        if self.receivedAt < EARLIEST or self.occurredAt < EARLIEST:
            raise ValueError("timestamp before 2000-01-01")
        if self.receivedAt > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise ValueError("receivedAt is in the future")
        if self.occurredAt > self.receivedAt + CLOCK_SKEW:
            raise ValueError("occurredAt is after receivedAt")
        return self


class CourseEvent(_EventBase):
    eventType: Literal["course_started", "course_completed", "page_viewed"]


class LessonEvent(_EventBase):
    eventType: Literal["lesson_started", "lesson_completed", "quiz_started"]
    lessonId: NonEmpty


class VideoEvent(_EventBase):
    eventType: Literal["video_played", "video_paused", "video_progress", "video_completed"]
    lessonId: NonEmpty
    properties: VideoProps = Field(default_factory=VideoProps)


class QuizAnsweredEvent(_EventBase):
    eventType: Literal["quiz_answered"]
    lessonId: NonEmpty
    properties: QuizAnsweredProps


class QuizSubmittedEvent(_EventBase):
    eventType: Literal["quiz_submitted"]
    lessonId: NonEmpty
    properties: QuizSubmittedProps


class SurveyEvent(_EventBase):
    eventType: Literal["survey_submitted"]
    properties: SurveyProps


Event = Annotated[
    Union[CourseEvent, LessonEvent, VideoEvent, QuizAnsweredEvent, QuizSubmittedEvent, SurveyEvent],
    Field(discriminator="eventType"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES = frozenset(
    value
    for model in (CourseEvent, LessonEvent, VideoEvent, QuizAnsweredEvent, QuizSubmittedEvent, SurveyEvent)
    for value in model.model_fields["eventType"].annotation.__args__
)


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


def _rejection_from(error: ValidationError) -> Rejection:
    first = error.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"] if part not in EVENT_TYPES)
    kind = first["type"]
    if kind == "union_tag_not_found" or (kind == "missing" and loc):
        field = loc or "eventType"
        return Rejection("missing_field", f"missing required field {field}")
    if kind == "union_tag_invalid":
        tag = first.get("ctx", {}).get("tag", "?")
        return Rejection("unknown_event_type", f"unknown eventType {str(tag)[:80]!r}")
    message = first["msg"].removeprefix("Value error, ")
    where = f"{loc}: " if loc else ""
    return Rejection("invalid_value", f"{where}{message}"[:500])


def check_line(raw: bytes) -> Event | Rejection:
    """Validate one landing line against the contract."""
    if len(raw) > MAX_LINE_BYTES:
        return Rejection("line_too_long", f"line is over the {MAX_LINE_BYTES}-byte limit")
    if not raw.strip():
        return Rejection("empty_line", "empty line")
    # PostgreSQL text cannot hold NUL, raw or JSON-escaped.
    if b"\x00" in raw or b"\\u0000" in raw:
        return Rejection("invalid_encoding", "line contains a NUL character")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"not valid UTF-8 JSON: {exc}"[:300])
    if not isinstance(payload, dict):
        return Rejection("invalid_json", f"expected a JSON object, got {type(payload).__name__}")
    try:
        return EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        return _rejection_from(exc)
