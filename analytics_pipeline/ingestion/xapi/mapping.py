"""From an xAPI statement to an event of the contract (docs/xapi.md has the same tables).

An event type is looked up by (verb, activity kind) in VERB_MAPPING; the activity kind comes
from identifiers.py. The rest of the event is read from fixed places in the statement, named
below. Nothing else of the statement is kept: not the actor's name, account, openid or
e-mail, not `context.registration` (Open edX repeats the learner's id there), not the
learner's answers. The actor's name and e-mail are read only to scrub them from free text,
as the native `user` object is.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any

import orjson

from analytics_pipeline.ingestion.contract import Event, Rejection, check_line, json_line
from analytics_pipeline.ingestion.xapi.identifiers import activity_kind, course_of, normalized_id
from analytics_pipeline.ingestion.xapi.repairs import repair
from analytics_pipeline.ingestion.xapi.statements import InvalidStatement, check_statement

ADL = "http://adlnet.gov/expapi/verbs/"
VIDEO_VERB = "https://w3id.org/xapi/video/verbs/"
ACROSSX = "https://w3id.org/xapi/acrossx/verbs/"
TINCAN = "http://id.tincanapi.com/verb/"
NAVIGATED = "https://w3id.org/xapi/dod-isd/verbs/navigated"  # Open edX: the learner moved to a unit

# (verb, activity kind) -> event type.
VERB_MAPPING: dict[tuple[str, str], str] = {
    (VIDEO_VERB + "played", "video"): "video_played",
    (VIDEO_VERB + "paused", "video"): "video_paused",
    (ADL + "terminated", "video"): "video_paused",
    (VIDEO_VERB + "seeked", "video"): "video_progress",
    (ADL + "completed", "video"): "video_completed",
    (ADL + "launched", "course"): "course_started",
    (ADL + "initialized", "course"): "course_started",
    (ADL + "completed", "course"): "course_completed",
    # Open edX: the learner's course grade passed (edx.course.grade.now_passed, passed.first_time).
    (ADL + "passed", "course"): "course_completed",
    (ADL + "launched", "lesson"): "lesson_started",
    (ADL + "experienced", "lesson"): "lesson_started",
    (NAVIGATED, "lesson"): "lesson_started",
    (ADL + "completed", "lesson"): "lesson_completed",
    (ADL + "experienced", "page"): "page_viewed",
    (ADL + "launched", "page"): "page_viewed",
    (TINCAN + "viewed", "page"): "page_viewed",
    (NAVIGATED, "page"): "page_viewed",
    (ADL + "attempted", "assessment"): "quiz_started",
    (ADL + "initialized", "assessment"): "quiz_started",
    (ACROSSX + "evaluated", "question"): "quiz_answered",
    (ADL + "answered", "question"): "quiz_answered",
    (ADL + "completed", "question"): "quiz_answered",
    (ADL + "passed", "assessment"): "quiz_submitted",
    (ADL + "failed", "assessment"): "quiz_submitted",
    (ADL + "scored", "assessment"): "quiz_submitted",
    (ADL + "completed", "assessment"): "quiz_submitted",
    (ADL + "responded", "survey"): "survey_submitted",
    (TINCAN + "rated", "survey"): "survey_submitted",
}
ANY_KIND = "any"
# (verb, activity kind) -> (condition on the result, event type): the first row whose
# condition holds gives the event type, for the verbs whose meaning the result decides.
RESULT_MAPPING: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    # Open edX's edx.grades.problem.submitted: a problem graded, the score the whole problem
    # earned: a submission (its answers come as `evaluated` statements, one per question).
    # Without a result (the browser's problem_check) the learner only attempted the problem.
    (ADL + "attempted", "question"): (("graded", "quiz_submitted"), ("any", "quiz_started")),
    # Open edX's edx.completion.block_completion.changed, on any kind of block.
    (ADL + "progressed", ANY_KIND): (("completed", "lesson_completed"),),
}
# (verb, activity kind) -> (reason code, reason): statements whose meaning the platform
# deliberately does not record as an event, each dead-lettered with its own reason.
NOT_RECORDED: dict[tuple[str, str], tuple[str, str]] = {
    (ADL + "initialized", "video"): ("player_loaded", "the video player loaded (initialized); that is not a play"),
    (ADL + "failed", "course"): (
        "course_grade_failed",
        "a failed course grade is not recorded: a course once completed stays completed",
    ),
}
# Enrollments come from the LMS's enrollment snapshot, which is what decides who is enrolled
# where; an enrollment statement is therefore dead-lettered with its own reason, not mapped.
ENROLLMENT_VERBS = frozenset({ADL + "registered", TINCAN + "unregistered", ADL + "unregistered"})
# How far through a block the learner is (cmi5; Open edX's block completions carry it).
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
# Where an event's lesson comes from, by the kind of the statement's object: the object
# itself, the parent activity (a question belongs to its quiz), or nowhere.
LESSON_SOURCE = {
    "video": "object",
    "lesson": "object",
    "page": "object",
    "assessment": "object",
    "question": "parent",
    "course": None,
    "survey": None,
}

VIDEO_TIME = "https://w3id.org/xapi/video/extensions/time"
VIDEO_TIME_TO = "https://w3id.org/xapi/video/extensions/time-to"  # where a seek lands
VIDEO_LENGTH = "https://w3id.org/xapi/video/extensions/length"
SESSION_EXTENSIONS = (
    "https://w3id.org/xapi/video/extensions/session-id",
    "https://w3id.org/xapi/openedx/extensions/session-id",
    "https://w3id.org/xapi/cmi5/context/extensions/sessionid",
)
# The tenant a statement belongs to, when its client knows it (the native `orgId`).
ORG_EXTENSION = "https://analytics-pipeline.dev/xapi/extensions/org-id"
# The statements resource names, as each statement's authority (which an LRS sets), the org
# of a write key bound to one: the native `keyOrgId`, which makes that org final.
KEY_ORG_AUTHORITY = "https://analytics-pipeline.dev/xapi/write-key-org"


def key_org_authority(org: str) -> dict:
    return {"objectType": "Agent", "account": {"homePage": KEY_ORG_AUTHORITY, "name": org}}


def key_org_of(statement: dict) -> str | None:
    """The org of the bound write key a statement was posted with, if any."""
    authority = statement.get("authority")
    account = authority.get("account") if isinstance(authority, dict) else None
    if isinstance(account, dict) and account.get("homePage") == KEY_ORG_AUTHORITY:
        return account.get("name")
    return None


PASSED_BY_VERB = {ADL + "passed": True, ADL + "failed": False}
# Statements landed without an id get one derived from their content: a re-landed file
# then gives the same ids, and ingestion drops the repeat as a duplicate.
CONTENT_IDS = uuid.UUID("6f3a2b1e-8e0c-4d55-9a3e-2f1c7b9d4e10")
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def seconds(value: Any) -> float | Rejection | None:
    """A video time: a number of seconds, or an ISO 8601 duration such as PT1M3.5S or P0D."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = _DURATION.match(value) if isinstance(value, str) and value != "P" and not value.endswith("T") else None
    if not found:
        return Rejection("invalid_value", f"video time {str(value)[:40]!r} is neither seconds nor an ISO 8601 duration")
    days, hours, minutes, secs = (float(part or 0) for part in found.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + secs


def learner_id(actor: dict) -> str | None:
    """account.name, else the last path segment of openid, else the SHA-1 of the mailto IRI
    (which is what mbox_sha1sum holds, so both forms of one address give one learner)."""
    if account := actor.get("account"):
        return account["name"] or None
    if openid := actor.get("openid"):
        return openid.rstrip("/").rsplit("/", 1)[-1] or None
    if mbox := actor.get("mbox"):
        return "sha1:" + hashlib.sha1(mbox.encode()).hexdigest()
    if digest := actor.get("mbox_sha1sum"):
        return "sha1:" + digest.lower()
    return None


def _context_activities(statement: dict, *names: str) -> list[dict]:
    listed = (statement.get("context") or {}).get("contextActivities") or {}
    found = []
    for name in names:
        value = listed.get(name) or []
        found += value if isinstance(value, list) else [value]
    return found


def _course(statement: dict, target: dict, kind: str) -> str | None:
    if kind == "course":
        return normalized_id(target["id"])
    for activity in _context_activities(statement, "parent", "grouping"):
        if activity_kind(activity) == "course":
            return normalized_id(activity["id"])
    return course_of(target["id"])


def _lesson(statement: dict, target: dict, kind: str, course_id: str | None) -> str | None:
    source = LESSON_SOURCE.get(kind, "object")
    if source == "parent":
        parents = [a for a in _context_activities(statement, "parent") if activity_kind(a) != "course"]
        target = parents[0] if parents else target
    lesson = normalized_id(target["id"]) if source else None
    # A page of the course itself (its home page) is in no lesson.
    return None if lesson == course_id else lesson


def _score(result: dict) -> dict:
    """The score a result gives, as the contract names it (a score whose range is empty was
    taken out by the repairs)."""
    score = result.get("score") or {}
    return {"score": score.get("raw"), "maxScore": score.get("max"), "scaledScore": score.get("scaled")}


def _video_properties(statement: dict) -> dict | Rejection:
    extensions = (statement.get("result") or {}).get("extensions") or {}
    found = extensions.get(VIDEO_TIME)
    position = seconds(found if found is not None else extensions.get(VIDEO_TIME_TO))
    duration = seconds(((statement.get("context") or {}).get("extensions") or {}).get(VIDEO_LENGTH))
    for value in (position, duration):
        if isinstance(value, Rejection):
            return value
    # Open edX sends a length of 0 when the player does not know it yet.
    return {"positionSeconds": position, "durationSeconds": duration or None}


def _properties(event_type: str, statement: dict, target: dict, verb: str) -> dict | Rejection:
    result = statement.get("result") or {}
    if event_type.startswith("video_"):
        return _video_properties(statement)
    if event_type == "quiz_answered":
        return {"questionId": normalized_id(target["id"]), "correct": result.get("success"), **_score(result)}
    if event_type == "quiz_submitted":
        return {**_score(result), "passed": PASSED_BY_VERB.get(verb, result.get("success"))}
    if event_type == "survey_submitted":
        return {"rating": (result.get("score") or {}).get("raw"), "freeText": result.get("response")}
    return {}


def _holds(condition: str, result: dict) -> bool:
    if condition == "graded":
        return "score" in result or "success" in result
    if condition == "completed":
        progress = (result.get("extensions") or {}).get(PROGRESS)
        return result.get("completion") is True or progress == 100
    return condition == "any"


def event_type_of(verb: str, kind: str | None, result: dict) -> str | Rejection:
    """The event type a statement stands for, by the tables above, or why it stands for none."""
    if verb in ENROLLMENT_VERBS:
        return Rejection(
            "enrollment_statement", "enrollments come from the LMS's enrollment snapshot, not from statements"
        )
    if (verb, kind) in NOT_RECORDED:
        return Rejection(*NOT_RECORDED[verb, kind])
    if event_type := VERB_MAPPING.get((verb, kind)):
        return event_type
    rules = RESULT_MAPPING.get((verb, kind)) or RESULT_MAPPING.get((verb, ANY_KIND))
    if rules:
        for condition, event_type in rules:
            if _holds(condition, result):
                return event_type
        return Rejection("progress_incomplete", f"verb {verb[:120]!r} with a result that completes nothing")
    return Rejection("unmapped_verb", f"no event type for verb {verb[:120]!r} on a {kind or 'unknown'} object")


def _stamp(value: str) -> str:
    return datetime.fromisoformat(value).isoformat()


def to_event(statement: dict, lessons: frozenset[str] | None = None) -> dict | Rejection:
    """The native event a valid (and repaired) statement stands for, or why it stands for
    none. `lessons`, the lessons snapshot, decides whether a completed block is a lesson;
    without it that is not judged. The event still goes through the contract's own checks
    (`check_statement_line`)."""
    verb, target, actor = statement["verb"]["id"], statement["object"], statement["actor"]
    kind = activity_kind(target) if target.get("objectType", "Activity") == "Activity" else None
    event_type = event_type_of(verb, kind, statement.get("result") or {})
    if isinstance(event_type, Rejection):
        return event_type
    user_id = learner_id(actor) if actor.get("objectType", "Agent") == "Agent" else None
    if user_id is None:
        return Rejection("missing_field", "the actor names no single learner (an agent with account, openid or mbox)")
    properties = _properties(event_type, statement, target, verb)
    if isinstance(properties, Rejection):
        return properties
    course_id = _course(statement, target, kind)
    block_completion = verb == ADL + "progressed"
    # A completed block is its own lesson, whatever its kind.
    lesson_id = normalized_id(target["id"]) if block_completion else _lesson(statement, target, kind, course_id)
    if block_completion and lessons is not None and lesson_id not in lessons:
        return Rejection("not_a_lesson", f"completed block {lesson_id[:120]!r} is not in the lessons snapshot")
    extensions = (statement.get("context") or {}).get("extensions") or {}
    stored, timestamp = statement.get("stored"), statement.get("timestamp")
    event = {
        "clientEventId": statement.get("id") or str(uuid.uuid5(CONTENT_IDS, orjson.dumps(statement).decode())),
        "eventType": event_type,
        # An LRS stamps `stored`; a statement without a timestamp happened when it was stored.
        "occurredAt": _stamp(timestamp or stored) if timestamp or stored else None,
        "receivedAt": _stamp(stored or timestamp) if stored or timestamp else None,
        "userId": user_id,
        "courseId": course_id,
        "lessonId": lesson_id,
        "sessionId": next((extensions[name] for name in SESSION_EXTENSIONS if name in extensions), None),
        "orgId": extensions.get(ORG_EXTENSION),
        "keyOrgId": key_org_of(statement),
        "properties": {name: value for name, value in properties.items() if value is not None},
        "user": {"name": actor.get("name"), "email": (actor.get("mbox") or "").removeprefix("mailto:") or None},
    }
    return {name: value for name, value in event.items() if value is not None}


def read_statement(value: Any, repairs: bool = True) -> dict | Rejection:
    """A landed or posted statement, repaired (repairs.py) and checked: the statement, or a
    dead letter naming the rule it breaks."""
    try:
        return check_statement(value)
    except InvalidStatement as exc:
        if not repairs:
            return Rejection("invalid_statement", str(exc)[:500])
        # Most statements are valid as they come: only the others are copied and repaired.
    try:
        return check_statement(repair(value)[0])
    except InvalidStatement as exc:
        return Rejection("invalid_statement", str(exc)[:500])


def check_statement_line(
    raw: bytes, latest: datetime | None = None, lessons: frozenset[str] | None = None
) -> Event | Rejection:
    """One landed line of statements (`*.xapi.ndjson`): a validated event, or a Rejection."""
    value = json_line(raw)
    if isinstance(value, Rejection):
        return value
    statement = read_statement(value)
    if isinstance(statement, Rejection):
        return statement
    event = to_event(statement, lessons)
    if isinstance(event, Rejection):
        return event
    return check_line(orjson.dumps(event), latest)
