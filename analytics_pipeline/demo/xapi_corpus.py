"""The demo corpus as xAPI statements (`generate --format xapi`), shaped as Open edX's
event-routing-backends writes them: course and usage keys in the activity IRIs, the course as
parent or grouping activity, the ADL video profile's extensions. Each native event becomes the
statement that the mapping (ingestion/xapi/mapping.py) turns back into that event, so both
formats of one seed make the same marts, with the ids in Open edX's form."""

from __future__ import annotations

import json

from analytics_pipeline.ingestion.xapi.identifiers import ACTIVITY_TYPE_KINDS
from analytics_pipeline.ingestion.xapi.mapping import (
    ADL,
    ORG_EXTENSION,
    SESSION_EXTENSIONS,
    VERB_MAPPING,
    VIDEO_LENGTH,
    VIDEO_TIME,
    VIDEO_VERB,
)

LMS = "https://lms.example.org"
ORG, RUN = "Demo", "2026"
# Each event type in the first form the mapping lists for it; a submission says passed or failed.
FORMS = {}
for (_verb, _kind), _event_type in VERB_MAPPING.items():
    FORMS.setdefault(_event_type, (_verb, _kind))
ACTIVITY_TYPES = {}
for _type, _kind in ACTIVITY_TYPE_KINDS.items():
    ACTIVITY_TYPES.setdefault(_kind, _type)


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


def _activity(iri_path: str, kind: str) -> dict:
    return {"objectType": "Activity", "id": f"{LMS}/{iri_path}", "definition": {"type": ACTIVITY_TYPES[kind]}}


def to_statement(event: dict, ids: XapiIds) -> dict:
    event_type, properties = event["eventType"], event.get("properties") or {}
    verb, kind = FORMS[event_type]
    if event_type == "quiz_submitted":
        verb = ADL + ("passed" if properties["passed"] else "failed")
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
    elif kind == "question":
        target = _activity(f"xblock/{ids.question(lesson, properties['questionId'])}", "question")
        parents = [_activity(f"xblock/{ids(lesson)}", "assessment")]
        result = {"success": properties["correct"]}
    else:
        target = _activity(f"xblock/{ids(lesson)}", kind)
    extensions = {SESSION_EXTENSIONS[0]: event.get("sessionId"), ORG_EXTENSION: event.get("orgId")}
    if kind == "video":
        extensions[VIDEO_LENGTH] = properties.get("durationSeconds")
        result = {"extensions": {VIDEO_TIME: properties["positionSeconds"]}}
    elif event_type == "quiz_submitted":
        result = {"score": {"raw": properties["score"], "min": 0, "max": properties["maxScore"]}}
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
