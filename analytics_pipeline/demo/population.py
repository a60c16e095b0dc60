"""The demo's world: organizations, courses and their lessons, learners and their enrollments,
and the reference snapshots the LMS exports of them.

Learners and enrollments are kept as arrays of small numbers, not objects, so that a corpus of
a million learners fits in memory; a `Learner` is made when its events are.
"""

from __future__ import annotations

import csv
import io
import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from analytics_pipeline.ingestion.landing import write_batch_file

FIRST_NAMES = [
    "Adaline",
    "Bertrand",
    "Cosima",
    "Dorian",
    "Evangeline",
    "Fitzgerald",
    "Gwendolyn",
    "Horatio",
    "Isolde",
    "Jericho",
    "Katarina",
    "Leopold",
    "Marisol",
    "Nikolai",
    "Ottoline",
    "Peregrine",
    "Quintessa",
    "Rosalind",
    "Sebastiano",
    "Thaddeus",
]
LAST_NAMES = [
    "Abernathy",
    "Blackwood",
    "Castellano",
    "Delacroix",
    "Everhart",
    "Fairweather",
    "Galbraith",
    "Hawthorne",
    "Ingleby",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Montgomery",
    "Nightingale",
    "Oyelaran",
    "Pemberton",
    "Quarrington",
    "Rutherford",
]
ORG_NAMES = [
    "Northwind Academy",
    "Bluebird Health",
    "Summit Logistics",
    "Harbor Retail",
    "Evergreen Bank",
    "Copperline Energy",
    "Lighthouse Schools",
    "Meridian Labs",
]
TOPICS = [
    "Workplace Safety",
    "Data Privacy Basics",
    "Customer Care",
    "Leadership 101",
    "Intro to SQL",
    "Effective Meetings",
    "First Aid",
    "Negotiation",
    "Time Management",
]
LESSON_KINDS = ["video", "video", "quiz", "reading"]


@dataclass(frozen=True)
class Learner:
    index: int
    user_id: str
    name: str
    email: str
    home_org: str


class Population:
    """Everything drawn from `rng` before the first event, in the order the seed fixes."""

    def __init__(self, rng: random.Random, orgs: int, learners: int, start: datetime):
        self.orgs = [f"org_{i + 1}" for i in range(orgs)]
        self.courses: dict[str, list[dict]] = {}
        for index in range(max(3, orgs + 2)):
            course_id = f"course_{index + 1}"
            self.courses[course_id] = [
                {
                    "lesson_id": f"{course_id}_lesson_{position}",
                    "course_id": course_id,
                    "position": position,
                    "title": f"Part {position}",
                    "kind": rng.choice(LESSON_KINDS),
                    "duration_seconds": rng.choice([180, 300, 420, 600]),
                }
                for position in range(1, rng.randint(4, 7) + 1)
            ]
            for lesson in self.courses[course_id]:
                if lesson["kind"] == "video" and rng.random() < 0.1:  # the snapshot lacks its duration
                    lesson["duration_seconds"] = None
        self.course_ids = list(self.courses)
        org_courses = {org: sorted(rng.sample(self.course_ids, k=min(3, len(self.course_ids)))) for org in self.orgs}
        # A learner is the index of a first name, a last name and a home org.
        self._names = array("B")
        self._homes = array("I")
        for _ in range(learners):
            first, last = rng.randrange(len(FIRST_NAMES)), rng.randrange(len(LAST_NAMES))
            self._names.extend((first, last))
            self._homes.append(rng.randrange(orgs))
        # An enrollment is (org, learner, course) by index, each learner's together.
        self._enrollments = array("I")
        for learner in range(learners):
            home = self.orgs[self._homes[learner]]
            for course_id in rng.sample(org_courses[home], k=rng.randint(1, 2)):
                course = self.course_ids.index(course_id)
                self._enrollments.extend((self._homes[learner], learner, course))
                # Some learners take the same course in a second org that assigns it too.
                others = [o for o in range(orgs) if self.orgs[o] != home and course_id in org_courses[self.orgs[o]]]
                if others and rng.random() < 0.08:
                    self._enrollments.extend((rng.choice(others), learner, course))
        # (assigned, due) in days: assigned up to three weeks before the data starts, due one
        # to seven weeks later, so some are overdue.
        self.start = start
        self._schedule = array("B")
        for _ in range(len(self._enrollments) // 3):
            self._schedule.extend((rng.randint(0, 21), rng.randint(7, 49)))

    @property
    def learner_count(self) -> int:
        return len(self._homes)

    def learner(self, index: int) -> Learner:
        first, last = FIRST_NAMES[self._names[2 * index]], LAST_NAMES[self._names[2 * index + 1]]
        return Learner(
            index=index,
            user_id=user_id(index),
            name=f"{first} {last}",
            email=f"{first}.{last}{index}@example.org".lower(),
            home_org=self.orgs[self._homes[index]],
        )

    def enrollments(self) -> Iterator[tuple[str, int, str]]:
        """(org, learner index, course id) in the order they were drawn."""
        rows = self._enrollments
        for i in range(0, len(rows), 3):
            yield self.orgs[rows[i]], rows[i + 1], self.course_ids[rows[i + 2]]

    def by_learner(self) -> Iterator[tuple[Learner, list[tuple[str, str]]]]:
        """Each learner with an enrollment, with their (org, course) enrollments in order."""
        current, enrolled = None, []
        for org, learner, course_id in self.enrollments():
            if learner != current:
                if enrolled:
                    yield self.learner(current), enrolled
                current, enrolled = learner, []
            enrolled.append((org, course_id))
        if enrolled:
            yield self.learner(current), enrolled

    def schedules(self) -> Iterator[tuple[datetime, datetime]]:
        """(assigned_at, due_at) of each enrollment, in the order of `enrollments()`."""
        for i in range(0, len(self._schedule), 2):
            assigned = self.start - timedelta(days=self._schedule[i])
            yield assigned, assigned + timedelta(days=self._schedule[i + 1])

    def user_order(self) -> list[int]:
        """Learner indices in the order of their user ids, as text sorts them."""
        return sorted(range(self.learner_count), key=user_id)

    def write_reference(self, root: Path, rename: Callable[[str], str]) -> None:
        """The LMS's snapshots: organizations, courses, lessons, enrollments, and its own
        record of its learners for the learner directory (the LMS sends each learner's name
        and e-mail with their events too)."""
        tables = {
            "organizations": (
                ["org_id", "name"],
                ([o, ORG_NAMES[i % len(ORG_NAMES)]] for i, o in enumerate(self.orgs)),
            ),
            "courses": (
                ["course_id", "title"],
                ([rename(c), TOPICS[i % len(TOPICS)]] for i, c in enumerate(self.courses)),
            ),
            "lessons": (
                ["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"],
                (
                    [rename(lesson["lesson_id"]), rename(lesson["course_id"])]
                    + [lesson[k] for k in ("position", "title", "kind", "duration_seconds")]
                    for lessons in self.courses.values()
                    for lesson in lessons
                ),
            ),
            "enrollments": (
                ["org_id", "user_id", "course_id", "assigned_at", "due_at"],
                (
                    [org, user_id(learner), rename(course), assigned.isoformat(), due.isoformat()]
                    for (org, learner, course), (assigned, due) in zip(
                        self.enrollments(), self.schedules(), strict=True
                    )
                ),
            ),
            "learners": (
                ["user_id", "name", "email"],
                (
                    [learner.user_id, learner.name, learner.email]
                    for learner in map(self.learner, range(self.learner_count))
                ),
            ),
        }
        for name, (header, rows) in tables.items():
            text = io.StringIO(newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            writer.writerows(rows)
            # A snapshot appears whole, as a batch file does (and on an object store too).
            write_batch_file(root / "reference" / f"{name}.csv", text.getvalue().encode())


def user_id(index: int) -> str:
    return f"u_{index + 1:05d}"
