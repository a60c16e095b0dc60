"""The demo corpus as IMS Caliper 1.2 events (`generate --format caliper`), written as a
Canvas-like LMS writes them: learners and courses as Canvas URNs, the course as the event's
`group`, lessons, quiz items and media as the LMS's own IRIs, a submission followed by its
grade, ratings as questionnaire responses. Each native event becomes the events that the
mapping (ingestion/caliper/mapping.py) turns back into that event, so both formats of one
seed make the same marts."""

from __future__ import annotations

import json
import uuid

from analytics_pipeline.ingestion.caliper.envelope import CONTEXTS
from analytics_pipeline.ingestion.caliper.mapping import ORG_EXTENSION, RECEIVED_EXTENSION

LMS = "https://canvas.example.org"
CONTEXT = next(iter(name for name, version in CONTEXTS.items() if version == "1.2"))
# Each event type as the LMS sends it: (Caliper type, action, object type).
FORMS = {
    "video_played": ("MediaEvent", "Started", "VideoObject"),
    "video_paused": ("MediaEvent", "Paused", "VideoObject"),
    "video_progress": ("MediaEvent", "JumpedTo", "VideoObject"),
    "video_completed": ("MediaEvent", "Ended", "VideoObject"),
    "course_started": ("Event", "Started", "CourseOffering"),
    "course_completed": ("Event", "Completed", "CourseOffering"),
    "lesson_started": ("NavigationEvent", "NavigatedTo", "DigitalResourceCollection"),
    "lesson_completed": ("AssignableEvent", "Completed", "AssignableDigitalResource"),
    "page_viewed": ("ViewEvent", "Viewed", "WebPage"),
    "quiz_started": ("AssessmentEvent", "Started", "Assessment"),
    "quiz_answered": ("AssessmentItemEvent", "Completed", "AssessmentItem"),
    "quiz_submitted": ("AssessmentEvent", "Submitted", "Assessment"),
    "survey_submitted": ("QuestionnaireItemEvent", "Completed", "QuestionnaireItem"),
}
LESSON_PATHS = {"video": "media", "quiz": "quizzes"}
# Grades are derived from their submission's id: a retried submission brings the same grade.
_GRADES = uuid.UUID("9b0e7c1d-2f4a-4b6e-8d3c-5a1f0e2b7c64")


class CaliperIds:
    """The LMS's IRIs of the generator's lessons (courses keep their ids: the Canvas URN
    normalizes back to them)."""

    def __init__(self, courses: dict[str, list[dict]]):
        self.lessons = {
            lesson["lesson_id"]: f"{LMS}/courses/{course_id}/{LESSON_PATHS.get(lesson['kind'], 'modules')}/"
            + lesson["lesson_id"]
            for course_id, lessons in courses.items()
            for lesson in lessons
        }

    def __call__(self, native_id: str) -> str:
        return self.lessons.get(native_id, native_id)


def _seconds(value: float) -> str:
    return f"PT{value}S"


def to_events(event: dict, ids: CaliperIds) -> list[dict]:
    """The Caliper events the LMS sends for one native event: a submission and its grade for
    a submitted quiz."""
    event_type, properties = event["eventType"], event.get("properties") or {}
    caliper_type, action, object_type = FORMS[event_type]
    course = {"id": f"urn:instructure:canvas:course:{event['courseId']}", "type": "CourseOffering"}
    lesson = ids(event["lessonId"]) if event.get("lessonId") else None
    target: dict = {"id": lesson, "type": object_type}
    caliper = {
        "@context": CONTEXT,
        "id": f"urn:uuid:{event['clientEventId']}",
        "type": caliper_type,
        "actor": {"id": f"urn:instructure:canvas:user:{event['userId']}", "type": "Person"},
        "action": action,
        "object": target,
        "eventTime": event["occurredAt"],
        "group": course,
        "extensions": {RECEIVED_EXTENSION: event["receivedAt"]},
    }
    if event.get("orgId"):
        caliper["extensions"][ORG_EXTENSION] = event["orgId"]
    if event.get("sessionId"):
        caliper["session"] = {"id": event["sessionId"], "type": "Session"}
    if object_type == "CourseOffering":
        caliper["object"] = course
    elif event_type == "page_viewed":
        # A page of a lesson, or the course's home page.
        home = f"urn:instructure:canvas:course:{event['courseId']}"
        page = {"id": f"{lesson}/page" if lesson else home, "type": "WebPage"}
        if lesson:
            page["isPartOf"] = {"id": lesson, "type": "DigitalResourceCollection"}
        caliper["object"] = page
    elif object_type == "VideoObject":
        if properties.get("durationSeconds") is not None:
            target["duration"] = _seconds(properties["durationSeconds"])
        if properties.get("positionSeconds") is not None:
            caliper["target"] = {
                "id": f"{lesson}#t",
                "type": "MediaLocation",
                "currentTime": _seconds(properties["positionSeconds"]),
            }
    elif event_type == "quiz_answered":
        caliper["object"] = {
            "id": f"{lesson}/items/{properties['questionId']}",
            "type": "AssessmentItem",
            "isPartOf": {"id": lesson, "type": "Assessment"},
        }
        caliper["generated"] = {
            "id": f"{caliper['id']}/response",
            "type": "Response",
            "extensions": {"isCorrect": properties["correct"]},
        }
    elif event_type == "survey_submitted":
        caliper["object"] = {"id": f"{LMS}/courses/{event['courseId']}/survey/rating", "type": "QuestionnaireItem"}
        caliper["generated"] = {
            "id": f"{caliper['id']}/response",
            "type": "RatingScaleResponse",
            "selections": [str(properties["rating"])],
        }
    elif event_type == "quiz_submitted":
        return _submission_and_grade(caliper, lesson, properties)
    return [caliper]


def _submission_and_grade(submitted: dict, quiz: str, properties: dict) -> list[dict]:
    learner = submitted["actor"]["id"]
    attempt = f"{quiz}/attempts/{submitted['id'].removeprefix('urn:uuid:')}"
    submitted["generated"] = {"id": attempt, "type": "Attempt"}
    grade = json.loads(json.dumps(submitted))
    grade.pop("session", None)
    grade.update(
        id=f"urn:uuid:{uuid.uuid5(_GRADES, submitted['id'])}",
        type="GradeEvent",
        action="Graded",
        actor={"id": f"{LMS}/autograder", "type": "SoftwareApplication"},
        object={
            "id": attempt,
            "type": "Attempt",
            "assignee": {"id": learner, "type": "Person"},
            "assignable": {"id": quiz, "type": "Assessment"},
        },
        generated={
            "id": f"{attempt}/score",
            "type": "Score",
            "scoreGiven": properties["score"],
            "maxScore": properties["maxScore"],
            "extensions": {"success": properties["passed"]},
        },
    )
    return [submitted, grade]


def corrupt_event(kind: str, event: dict) -> str:
    """An event broken the way the generator breaks native lines (`generator._corrupt`)."""
    if kind == "truncated":
        line = json.dumps(event)
        return line[: len(line) // 2]
    if kind == "missing_user":
        del event["actor"]
    elif kind == "unknown_type":
        event["action"] = "Rewound"
    elif kind == "bad_rating":
        event["type"], event["action"] = "QuestionnaireItemEvent", "Completed"
        event["object"] = {"id": f"{LMS}/survey/rating", "type": "QuestionnaireItem"}
        event["generated"] = {"id": f"{LMS}/survey/response", "type": "RatingScaleResponse", "selections": ["9"]}
    elif kind == "bad_time":
        event["eventTime"] = "yesterday"
    else:
        del event["object"]
    return json.dumps(event)
