"""Activity identifiers: Open edX course and usage keys out of every IRI form Open edX emits,
and what kind of thing an activity is (a video, a course, a question...), from its definition
type or, failing that, from the block type in its usage key.

A CCX (a custom run of a course, `ccx-v1:ORG+COURSE+RUN+ccx@N`) counts toward its master
course: its blocks are the master's blocks, and the LMS's snapshots name the master's keys."""

from __future__ import annotations

import re
from urllib.parse import unquote

_PART = r"[^+/?#\s]+"
# `block-v1:course-v1:ORG+...` is the older form of a usage key: the same key, prefixed.
_CCX = r"(?:\+ccx@[^+/?#\s]+)?"
_USAGE_KEY = re.compile(
    rf"(?:ccx-)?block-v1:(?:course-v1:)?(?P<org>{_PART})\+(?P<course>{_PART})\+(?P<run>{_PART}){_CCX}"
    rf"\+type@(?P<type>{_PART})\+block@(?P<block>[^/?#\s]+)"
)
_COURSE_KEY = re.compile(rf"(?:ccx|course)-v1:(?P<org>{_PART})\+(?P<course>{_PART})\+(?P<run>{_PART})")

# An activity's kind from its definition type: the mapping (mapping.py) is keyed by verb and kind.
ACTIVITY_TYPE_KINDS = {
    "https://w3id.org/xapi/video/activity-type/video": "video",
    "http://activitystrea.ms/schema/1.0/video": "video",
    "http://adlnet.gov/expapi/activities/course": "course",
    "https://w3id.org/xapi/cmi5/activitytype/course": "course",
    "http://adlnet.gov/expapi/activities/lesson": "lesson",
    "http://adlnet.gov/expapi/activities/module": "lesson",
    "https://w3id.org/xapi/cmi5/activitytype/block": "lesson",
    "http://id.tincanapi.com/activitytype/unit": "lesson",
    "http://activitystrea.ms/schema/1.0/page": "page",
    "http://id.tincanapi.com/activitytype/page": "page",
    "http://adlnet.gov/expapi/activities/cmi.interaction": "question",
    "http://adlnet.gov/expapi/activities/question": "question",
    "http://adlnet.gov/expapi/activities/interaction": "question",
    "http://adlnet.gov/expapi/activities/assessment": "assessment",
    # Open edX's special exams: a timed, proctored or practice subsection taken as one attempt.
    "https://w3id.org/xapi/openedx/activity/timed-assessment": "assessment",
    "https://w3id.org/xapi/openedx/activity/proctored-assessment": "assessment",
    "https://w3id.org/xapi/openedx/activity/practice-assessment": "assessment",
    "http://id.tincanapi.com/activitytype/survey": "survey",
}
# An Open edX block's kind when the statement does not give the activity a type.
BLOCK_TYPE_KINDS = {
    "video": "video",
    "problem": "question",
    "chapter": "lesson",
    "sequential": "lesson",
    "vertical": "lesson",
    "html": "page",
}


def _usage_key(iri: str) -> re.Match | None:
    return _USAGE_KEY.search(unquote(iri))


def normalized_id(iri: str) -> str:
    """One id per activity: an Open edX usage key as `block-v1:ORG+COURSE+RUN+type@T+block@ID`,
    a course key as `course-v1:ORG+COURSE+RUN`, wherever in the IRI they sit; any other IRI whole."""
    if usage := _usage_key(iri):
        return "block-v1:{org}+{course}+{run}+type@{type}+block@{block}".format(**usage.groupdict())
    if course := _COURSE_KEY.search(unquote(iri)):
        return "course-v1:{org}+{course}+{run}".format(**course.groupdict())
    return iri


def course_of(iri: str) -> str | None:
    """The course key an Open edX IRI names or belongs to, if it names one."""
    found = _usage_key(iri) or _COURSE_KEY.search(unquote(iri))
    return "course-v1:{org}+{course}+{run}".format(**found.groupdict()) if found else None


def activity_kind(activity: dict) -> str | None:
    """video, course, lesson, page, question, assessment, survey; None for anything else."""
    definition = activity.get("definition") or {}
    if kind := ACTIVITY_TYPE_KINDS.get(definition.get("type")):
        return kind
    iri = activity.get("id", "")
    if usage := _usage_key(iri):
        return BLOCK_TYPE_KINDS.get(usage["type"])
    return "course" if _COURSE_KEY.search(unquote(iri)) else None
