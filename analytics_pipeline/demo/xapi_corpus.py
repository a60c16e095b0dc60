"""The demo corpus as xAPI statements (`generate --format xapi`), written as Open edX's
event-routing-backends writes them: course and usage keys in the activity IRIs, the course as
parent or grouping activity, the ADL video profile's extensions; a passed course grade for a
completed course, a block completion for a completed lesson, problems graded with their
scores, some quizzes as multi-question problems (each answer's parent the problem, as a
`GroupActivity`), and the player loading before each play. Each native event becomes the
statements that the mapping (ingestion/xapi/mapping.py) turns back into that event (a load
into a `player_loaded` dead letter), so both formats of one seed make the same marts, with
the ids in Open edX's form."""

from __future__ import annotations

import json
import uuid
import zlib

from analytics_pipeline.ingestion.xapi.identifiers import ACTIVITY_TYPE_KINDS
from analytics_pipeline.ingestion.xapi.mapping import (
    ACROSSX,
    ADL,
    ORG_EXTENSION,
    PROGRESS,
    SESSION_EXTENSIONS,
    VIDEO_LENGTH,
    VIDEO_TIME,
    VIDEO_VERB,
)

LMS = "https://lms.example.org"
ORG, RUN = "Demo", "2026"
# Each event type as Open edX sends it: (verb, activity kind).
FORMS = {
    "video_played": (VIDEO_VERB + "played", "video"),
    "video_paused": (VIDEO_VERB + "paused", "video"),
    "video_progress": (VIDEO_VERB + "seeked", "video"),
    "video_completed": (ADL + "completed", "video"),
    "course_started": (ADL + "launched", "course"),
    "course_completed": (ADL + "passed", "course"),  # edx.course.grade.now_passed
    "lesson_started": (ADL + "launched", "lesson"),
    "lesson_completed": (ADL + "progressed", "block"),  # edx.completion.block_completion.changed
    "page_viewed": (ADL + "experienced", "page"),
    "quiz_started": (ADL + "attempted", "assessment"),
    "quiz_answered": (ACROSSX + "evaluated", "question"),  # problem_check
    "quiz_submitted": (ADL + "attempted", "question"),  # edx.grades.problem.submitted
    "survey_submitted": (ADL + "responded", "survey"),
}
ACTIVITY_TYPES = {}
for _type, _kind in ACTIVITY_TYPE_KINDS.items():
    ACTIVITY_TYPES.setdefault(_kind, _type)
# Open edX types a completed block as a resource; a problem graded as a question.
ACTIVITY_TYPES["block"] = "http://id.tincanapi.com/activitytype/resource"
GRADED_PROBLEM = "http://adlnet.gov/expapi/activities/question"
# Loads are derived from their play's id: a retried play brings the same load again.
_LOADS = uuid.UUID("0b8c3a52-7c1e-4d0e-9e53-1b8f2f7a6c41")


def course_key(course_id: str) -> str:
    return f"course-v1:{ORG}+{course_id}+{RUN}"


def usage_key(course_id: str, block_type: str, block: str) -> str:
    return f"block-v1:{ORG}+{course_id}+{RUN}+type@{block_type}+block@{block}"


class XapiIds:
    """The Open edX keys of the generator's courses and lessons."""

    def __init__(self, courses: dict[str, list[dict]]):
        self.lessons = {
            lesson["lesson_id"]: usage_key(
                course_id, "video" if lesson["kind"] == "video" else "sequential", lesson["lesson_id"]
            )
            for course_id, lessons in courses.items()
            for lesson in lessons
        }

    def __call__(self, native_id: str) -> str:
        """A course or lesson id in its Open edX form."""
        return self.lessons.get(native_id) or course_key(native_id)

    def question(self, lesson_id: str, question_id: str) -> str:
        course = self.lessons[lesson_id].split("+type@")[0].removeprefix("block-v1:")
        return f"block-v1:{course}+type@problem+block@{lesson_id}-{question_id}"


def multi_question(lesson_id: str) -> bool:
    """Whether a quiz lesson is written as one multi-question problem: about half of them."""
    return zlib.crc32(lesson_id.encode()) % 2 == 0


def _activity(iri_path: str, kind: str) -> dict:
    return {"objectType": "Activity", "id": f"{LMS}/{iri_path}", "definition": {"type": ACTIVITY_TYPES[kind]}}


def _score(raw: float, maximum: float) -> dict:
    return {"raw": raw, "min": 0, "max": maximum, "scaled": raw / maximum}


def to_statements(event: dict, ids: XapiIds) -> list[dict]:
    """The statements Open edX sends for one native event: the player's load before a play."""
    statement = to_statement(event, ids)
    if event["eventType"] != "video_played":
        return [statement]
    load = json.loads(json.dumps(statement))
    load["id"] = str(uuid.uuid5(_LOADS, statement["id"]))
    load["verb"] = {"id": ADL + "initialized", "display": {"en-US": "initialized"}}
    load.pop("result", None)
    load["context"]["extensions"][VIDEO_LENGTH] = 0.0  # the player does not know the length yet
    return [load, statement]


def to_statement(event: dict, ids: XapiIds) -> dict:
    event_type, properties = event["eventType"], event.get("properties") or {}
    verb, kind = FORMS[event_type]
    course = _activity(f"course/{ids(event['courseId'])}", "course")
    lesson = event.get("lessonId")
    parents, result = [course], {}
    if kind == "course":
        target = course
    elif kind == "survey":
        target = _activity(f"survey/{ids(event['courseId'])}", "survey")
        result = {"score": {"raw": properties["rating"], "min": 1, "max": 5}, "response": properties.get("freeText")}
    elif kind == "page" and lesson is None:
        target = _activity(f"courses/{ids(event['courseId'])}/home", "page")
    elif event_type == "quiz_answered":
        target = _activity(f"xblock/{ids.question(lesson, properties['questionId'])}", "question")
        problem = _activity(f"xblock/{ids(lesson)}", "assessment")
        if multi_question(lesson):
            problem = {**_activity(f"xblock/{ids(lesson)}", "question"), "objectType": "GroupActivity"}
        parents = [problem]
        correct = properties["correct"]
        result = {"success": correct, "score": _score(int(correct), 1)}
    elif event_type == "quiz_submitted":
        target = {**_activity(f"xblock/{ids(lesson)}", "question"), "definition": {"type": GRADED_PROBLEM}}
        result = {"success": properties["passed"], "score": _score(properties["score"], properties["maxScore"])}
    elif event_type == "lesson_completed":
        target = _activity(f"xblock/{ids(lesson)}", "block")
        result = {"completion": True, "extensions": {PROGRESS: 100.0}}
    else:
        target = _activity(f"xblock/{ids(lesson)}", kind)
    extensions = {SESSION_EXTENSIONS[1]: event.get("sessionId"), ORG_EXTENSION: event.get("orgId")}
    if kind == "video":
        extensions[VIDEO_LENGTH] = properties.get("durationSeconds")
        result = {"extensions": {VIDEO_TIME: properties["positionSeconds"]}}
    statement = {
        "id": event["clientEventId"],
        "actor": {
            "objectType": "Agent",
            "name": (event.get("user") or {}).get("name"),
            "account": {"homePage": LMS, "name": event.get("userId")},
        },
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": target,
        "context": {
            "contextActivities": {"parent": parents, "grouping": [course]},
            "extensions": {name: value for name, value in extensions.items() if value is not None},
        },
        "timestamp": event["occurredAt"],
        "stored": event["receivedAt"],
        "version": "1.0.3",
    }
    if result:
        statement["result"] = {name: value for name, value in result.items() if value is not None}
    if statement["actor"]["name"] is None:
        del statement["actor"]["name"]
    return statement


def corrupt_statement(kind: str, statement: dict) -> str:
    """A statement broken the way the generator breaks native lines (`generator._corrupt`)."""
    if kind == "truncated":
        line = json.dumps(statement)
        return line[: len(line) // 2]
    if kind == "missing_user":
        del statement["actor"]
    elif kind == "unknown_type":
        statement["verb"]["id"] = VIDEO_VERB + "rewound"
    elif kind == "bad_rating":
        statement["result"] = {"score": {"raw": 9, "min": 1, "max": 5}}
    elif kind == "bad_time":
        statement["timestamp"] = "yesterday"
    else:
        del statement["object"]
    return json.dumps(statement)
