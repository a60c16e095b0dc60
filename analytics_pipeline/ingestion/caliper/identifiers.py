"""Who and where a Caliper event is about, normalized per known producer, so that the LMS's
enrollment and course snapshots name the same learner and course (docs/caliper.md,
"Identifiers").

- Learner: Canvas `urn:instructure:canvas:user:N` is `N`; Open edX's anonymous-id IRI
  (`…/user/<id>`) is `<id>`, as its xAPI account name is; an LTI user id listed in
  `otherIdentifiers` (`LtiUserId`) is that id; any other IRI is kept whole.
- Course: Canvas `urn:instructure:canvas:course:N` is `N`; an Open edX course key is taken out
  of its IRI (`course-v1:ORG+COURSE+RUN`), as for xAPI; any other IRI is kept whole.
- Activity (lesson, question): an Open edX usage key out of its IRI, as for xAPI; any other
  IRI whole.
"""

from __future__ import annotations

import re
from typing import Any

from analytics_pipeline.ingestion.xapi.identifiers import activity_kind, course_of, normalized_id

OPENEDX = "openedx"
CANVAS_USER = re.compile(r"^urn:instructure:canvas:user:(?P<id>\w+)$")
CANVAS_COURSE = re.compile(r"^urn:instructure:canvas:course:(?P<id>\w+)$")
OPENEDX_USER = re.compile(r"/user/(?P<id>[^/?#\s]+)$")
COURSE_TYPES = ("CourseOffering", "CourseSection")


def producer(event: dict) -> str | None:
    """The known producer of an event: Open edX's event-routing-backends names itself in
    `extensions.transformerVersion`."""
    extensions = event.get("extensions")
    version = extensions.get("transformerVersion") if isinstance(extensions, dict) else None
    return OPENEDX if isinstance(version, str) and version.startswith("event-routing-backends") else None


def entity_id(value: Any) -> str | None:
    """The IRI of an entity given in full or by reference."""
    if isinstance(value, str):
        return value or None
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def entity_type(value: Any) -> str | None:
    found = value.get("type") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def own(value: Any, name: str) -> Any:
    """A property of an entity, where the specification puts it or (Open edX) in its extensions."""
    if not isinstance(value, dict):
        return None
    if name in value:
        return value[name]
    extensions = value.get("extensions")
    return extensions.get(name) if isinstance(extensions, dict) else None


def learner_id(person: Any) -> str | None:
    iri = entity_id(person)
    if iri is None:
        return None
    if found := CANVAS_USER.match(iri):
        return found["id"]
    if found := OPENEDX_USER.search(iri):
        return found["id"]
    for other in own(person, "otherIdentifiers") or []:
        if isinstance(other, dict) and other.get("identifierType") == "LtiUserId" and other.get("identifier"):
            return str(other["identifier"])
    return iri


def course_id(iri: str) -> str:
    if found := CANVAS_COURSE.match(iri):
        return found["id"]
    return course_of(iri) or iri


def names_course(iri: str, course: str | None) -> bool:
    """Whether an activity IRI names the course itself (its home page, say), not a part of it."""
    if found := CANVAS_COURSE.match(iri):
        return found["id"] == course
    return normalized_id(iri) == course


def activity_id(iri: str) -> str:
    return normalized_id(iri)


def course_of_event(event: dict, target: Any) -> str | None:
    """The course: the event's `group` (a section counts toward the offering it is part of),
    else the object when it is a course, else the first course in the object's `isPartOf`
    chain, else an Open edX course key in the object's IRI."""
    group = event.get("group")
    if entity_type(group) == "CourseSection" and entity_id(own(group, "subOrganizationOf")):
        group = own(group, "subOrganizationOf")
    if entity_type(group) in COURSE_TYPES or (isinstance(group, str) and group):
        return course_id(entity_id(group))
    if entity_type(target) in COURSE_TYPES and entity_id(target):  # the course itself
        return course_id(entity_id(target))
    current, seen = own(target, "isPartOf"), 0
    while current is not None and seen < 8:  # a chain is short; a cycle is not followed
        if entity_type(current) in COURSE_TYPES:
            return course_id(entity_id(current))
        current, seen = own(current, "isPartOf"), seen + 1
    iri = entity_id(target)
    return course_of(iri) if iri else None


def is_lesson(activity: str | None, lessons: frozenset[str] | None) -> bool:
    """Whether a viewed activity is a lesson: listed in the lessons snapshot, or an Open edX
    unit (a chapter, sequential or vertical block), as the xAPI route reads it."""
    if activity is None:
        return False
    return (lessons is not None and activity in lessons) or activity_kind({"id": activity}) == "lesson"
