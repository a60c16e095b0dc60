"""From a Caliper event to an event of the contract (docs/caliper.md has the same tables).

An event type is looked up by (event type, action, object kind) in EVENT_MAPPING, after the
rules of its producer (PRODUCER_RULES), which come first; the object kind comes from the
object's type (OBJECT_KINDS). The rest of the event is read from fixed places, named below.
Nothing else is kept: not the actor's name, login or SIS id, not the learner's answers.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from analytics_pipeline.ingestion.caliper.identifiers import (
    COURSE_TYPES,
    OPENEDX,
    activity_id,
    course_of_event,
    entity_id,
    entity_type,
    is_lesson,
    learner_id,
    names_course,
    own,
    producer,
)
from analytics_pipeline.ingestion.contract import Event, Rejection, check_line, json_line
from analytics_pipeline.ingestion.xapi.mapping import seconds

OBJECT_KINDS = {
    "VideoObject": "media",
    "AudioObject": "media",
    "MediaObject": "media",
    "WebPage": "page",
    "Webpage": "page",  # Open edX's spelling
    "Page": "page",
    "Document": "page",
    "DigitalResource": "page",
    "DigitalResourceCollection": "page",
    "AssignableDigitalResource": "page",
    "Assessment": "assessment",
    "AssessmentItem": "question",
    "Attempt": "attempt",
    "QuestionnaireItem": "survey",
    "CourseOffering": "course",
    "CourseSection": "course",
}
# (event type, action, object kind) -> event type.
EVENT_MAPPING: dict[tuple[str, str, str], str] = {
    ("MediaEvent", "Started", "media"): "video_played",
    ("MediaEvent", "Resumed", "media"): "video_played",
    ("MediaEvent", "Paused", "media"): "video_paused",
    ("MediaEvent", "JumpedTo", "media"): "video_progress",
    ("MediaEvent", "Ended", "media"): "video_completed",
    ("AssessmentEvent", "Started", "assessment"): "quiz_started",
    ("AssessmentEvent", "Submitted", "assessment"): "quiz_submitted",
    ("AssessmentItemEvent", "Completed", "question"): "quiz_answered",
    ("GradeEvent", "Graded", "attempt"): "quiz_submitted",
    ("NavigationEvent", "NavigatedTo", "page"): "page_viewed",
    ("ViewEvent", "Viewed", "page"): "page_viewed",
    ("Event", "Started", "course"): "course_started",
    ("Event", "Completed", "course"): "course_completed",  # Open edX: the course grade passed
    ("AssignableEvent", "Completed", "page"): "lesson_completed",
    ("QuestionnaireItemEvent", "Completed", "survey"): "survey_submitted",
}
# Rules of one producer, before the mapping: (producer, event type, action) -> a rule below.
PRODUCER_RULES: dict[tuple[str, str, str], str] = {
    # load_video: the player loaded, which is not a play (xAPI's `initialized`).
    (OPENEDX, "MediaEvent", "Started"): "player_loaded",
    # stop_video and complete_video: a stop before the end is a pause (xAPI's `terminated`).
    (OPENEDX, "MediaEvent", "Ended"): "completed_at_the_end",
    # problem_check (browser) and edx.grades.problem.submitted come as the same unscored
    # Submitted; the graded attempt is its GradeEvent (problem_check, server).
    (OPENEDX, "AssessmentEvent", "Submitted"): "unscored_submission",
    (OPENEDX, "GradeEvent", "Graded"): "graded_submission",
}
# Actions nobody asks the mapping about: dead-lettered with their own reason.
ENROLLMENT_ACTIONS = frozenset({"Activated", "Deactivated"})
VIEW_ACTIONS = frozenset({"Viewed", "NavigatedTo"})
_URN_UUID = re.compile(r"^urn:uuid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
# The tenant an event belongs to, when its client knows it (the native `orgId`), and the org
# of the write key a bound key's events were posted with (the native `keyOrgId`).
ORG_EXTENSION = "https://analytics-pipeline.dev/caliper/extensions/org-id"
KEY_ORG_EXTENSION = "https://analytics-pipeline.dev/caliper/extensions/write-key-org"
# When the web app received an event (Caliper's `sendTime` is the sensor's clock, not ours).
RECEIVED_EXTENSION = "https://analytics-pipeline.dev/caliper/extensions/received-at"


def event_id(value: Any) -> str | None:
    """The UUID of a Caliper event id (`urn:uuid:…`), or None."""
    found = _URN_UUID.match(value) if isinstance(value, str) else None
    return found[1].lower() if found else None


def _required(event: dict, *names: str) -> Rejection | None:
    for name in names:
        if event.get(name) in (None, "", {}):
            return Rejection("missing_field", f"missing required field {name}")
    return None


MODELLED = frozenset((caliper_type, action) for caliper_type, action, _ in EVENT_MAPPING)


def event_type_of(event: dict, kind: str | None, rule: str | None) -> str | Rejection:
    """The event type a Caliper event stands for, or why it stands for none."""
    caliper_type, action = event.get("type"), event.get("action")
    if rule == "player_loaded":
        return Rejection("player_loaded", "the video player loaded (Started); that is not a play")
    if rule == "unscored_submission":
        return Rejection(
            "unscored_submission", "Open edX sends a problem's check unscored; the attempt counts from its GradeEvent"
        )
    if action in ENROLLMENT_ACTIONS and kind == "course":
        return Rejection("enrollment_event", "enrollments come from the LMS's enrollment snapshot, not from events")
    if (caliper_type, action) in MODELLED and entity_id(event.get("object")) is None:
        return Rejection("missing_field", "missing required field object (with its id)")
    if mapped := EVENT_MAPPING.get((caliper_type, action, kind)):
        return mapped
    object_type = str(entity_type(event.get("object")) or "an object without a type")[:60]
    if action in VIEW_ACTIONS:
        return Rejection("not_a_page", f"viewed a {object_type}: only pages, documents and resources count as views")
    what = f"{str(caliper_type)[:60]} {str(action)[:60]}"
    return Rejection("unmapped_event", f"no event type for {what} on {object_type}")


def _position(target: Any) -> float | Rejection | None:
    """Where the media is: the MediaLocation's `currentTime`, or where a jump landed (Open
    edX names it `newTime` and puts where it left in `currentTime`)."""
    if not isinstance(target, dict):
        return None
    landed = own(target, "newTime")
    return seconds(landed if landed is not None else target.get("currentTime"))


def _media(event: dict, target: Any) -> dict | Rejection:
    position, duration = _position(event.get("target")), seconds(own(target, "duration"))
    for value in (position, duration):
        if isinstance(value, Rejection):
            return value
    duration = duration or None  # P0D (Open edX before the player knows it) means unknown
    # A media that ended without saying where ended at its end (Open edX's complete_video).
    if position is None and event.get("action") == "Ended":
        position = duration
    return {"positionSeconds": position, "durationSeconds": duration}


def _flag(value: Any) -> bool | None:
    """A boolean, also as Open edX writes it ("True", "False")."""
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value.lower()) if isinstance(value, str) else None


def _graded(event: dict, target: Any, grade_of: str | None) -> dict:
    generated = event.get("generated")
    # The Score the grade generated (Open edX nests it under `score`).
    score = generated if entity_type(generated) == "Score" else own(generated, "score")
    return {
        "score": own(score, "scoreGiven"),
        "maxScore": own(score, "maxScore"),
        "passed": _flag(own(score, "success")),
        "attemptId": None if grade_of else entity_id(target),
        "gradeOf": grade_of,
    }


def _answer(event: dict, target: Any) -> dict:
    response = event.get("generated")
    correct = own(response, "isCorrect")
    return {"questionId": activity_id(entity_id(target)), "correct": _flag(correct)}


def _rating(event: dict) -> dict | Rejection:
    selections = own(event.get("generated"), "selections")
    try:
        return {"rating": int(selections[0])}
    except (TypeError, ValueError, IndexError, KeyError):
        return Rejection("invalid_value", "a rating needs the response's first selection as a whole number")


def _properties(event_type: str, event: dict, target: Any, rule: str | None) -> dict | Rejection:
    if event_type.startswith("video_"):
        return _media(event, target)
    if event_type == "quiz_answered":
        return _answer(event, target)
    if event_type == "quiz_submitted":
        if event.get("type") == "GradeEvent":
            own_submission = rule == "graded_submission"
            return _graded(event, target, None if own_submission else entity_id(target))
        attempt = event.get("generated")
        return {"attemptId": entity_id(attempt) if entity_type(attempt) == "Attempt" else None}
    if event_type == "survey_submitted":
        return _rating(event)
    return {}


def _lesson(event_type: str, kind: str, target: Any, lessons: frozenset[str] | None) -> str | None:
    """A question belongs to the assessment it is part of; a grade to the assessment graded; a
    page that is no lesson to the lesson it is part of, if any."""
    if kind == "page" and not is_lesson(activity_id(entity_id(target)), lessons):
        parent = entity_id(own(target, "isPartOf"))
        if parent and entity_type(own(target, "isPartOf")) not in COURSE_TYPES:
            return activity_id(parent)
    if kind == "question":
        parent = own(target, "isPartOf")
        return activity_id(entity_id(parent) if entity_type(parent) == "Assessment" else entity_id(target))
    if kind == "attempt":
        assignable = entity_id(own(target, "assignable"))
        return activity_id(assignable) if assignable else None
    if kind in ("course", "survey"):
        return None
    return activity_id(entity_id(target))


def _learner(event: dict, target: Any) -> str | None:
    """The learner: a grade's assignee (its actor is the grader), else the actor."""
    if event.get("type") == "GradeEvent":
        return learner_id(own(target, "assignee"))
    return learner_id(event.get("actor"))


def _stamp(value: Any) -> str | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        return None
    return parsed.isoformat() if parsed and parsed.tzinfo else None


def _extension(event: dict, name: str) -> Any:
    extensions = event.get("extensions")
    return extensions.get(name) if isinstance(extensions, dict) else None


def to_event(event: Any, lessons: frozenset[str] | None = None, received_at: str | None = None) -> dict | Rejection:
    """The native event a Caliper event stands for, or why it stands for none. `lessons`, the
    lessons snapshot, decides whether a viewed page is a lesson started. The event still goes
    through the contract's own checks (`check_caliper_line`)."""
    if not isinstance(event, dict):
        return Rejection("invalid_event", "a Caliper event is a JSON object")
    if missing := _required(event, "type", "action"):
        return missing
    if not (isinstance(event["type"], str) and isinstance(event["action"], str)):
        return Rejection("invalid_value", "type and action must be strings")
    target = event.get("object")
    kind = OBJECT_KINDS.get(entity_type(target))
    rule = PRODUCER_RULES.get((producer(event), event["type"], event["action"]))
    event_type = event_type_of(event, kind, rule)
    if isinstance(event_type, Rejection):
        return event_type
    if missing := _required(event, "id", "actor", "eventTime"):
        return missing
    client_event_id = event_id(event["id"])
    if client_event_id is None:
        return Rejection("invalid_value", "id: must be a urn:uuid: IRI")
    occurred_at = _stamp(event["eventTime"])
    if occurred_at is None:
        return Rejection("invalid_value", "eventTime: must be an ISO 8601 date-time with a time zone")
    user_id = _learner(event, target)
    if user_id is None:
        return Rejection("missing_field", "the event names no learner (actor, or a grade's assignee, with an id)")
    properties = _properties(event_type, event, target, rule)
    if isinstance(properties, Rejection):
        return properties
    if rule == "completed_at_the_end":
        position, duration = properties["positionSeconds"], properties["durationSeconds"]
        if position is not None and duration is not None and position < duration:
            event_type = "video_paused"
    if event_type == "page_viewed" and is_lesson(activity_id(entity_id(target)), lessons):
        event_type = "lesson_started"
    lesson_id = _lesson(event_type, kind, target, lessons)
    course_id = course_of_event(event, target)
    # A page of the course itself (its home page) is in no lesson.
    lesson_id = None if lesson_id is None or names_course(lesson_id, course_id) else lesson_id
    person = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    native = {
        "clientEventId": client_event_id,
        "eventType": event_type,
        "occurredAt": occurred_at,
        "receivedAt": received_at or occurred_at,
        "userId": user_id,
        "courseId": course_id,
        "lessonId": lesson_id,
        # A grade's session is the grader's, not the learner's.
        "sessionId": None if properties.get("gradeOf") else entity_id(event.get("session")),
        "orgId": _extension(event, ORG_EXTENSION),
        "keyOrgId": _extension(event, KEY_ORG_EXTENSION),
        "properties": {name: value for name, value in properties.items() if value is not None},
        "user": {"name": person.get("name"), "email": person.get("email")},
    }
    return {name: value for name, value in native.items() if value is not None}


def check_caliper_line(
    raw: bytes, latest: datetime | None = None, lessons: frozenset[str] | None = None
) -> Event | Rejection:
    """One landed line of Caliper (`*.caliper.ndjson`): a validated event, or a Rejection.
    The web app stamps each event it lands with when it was received (`extensions`)."""
    value = json_line(raw)
    if isinstance(value, Rejection):
        return value
    received_at = _stamp(_extension(value, RECEIVED_EXTENSION)) if isinstance(value, dict) else None
    event = to_event(value, lessons, received_at)
    if isinstance(event, Rejection):
        return event
    return check_line(orjson.dumps(event), latest)
