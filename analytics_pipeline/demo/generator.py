"""Generate a realistic landing zone: reference CSVs and NDJSON batch files.

Learners enrolled in courses (some in two orgs) move through ordered lessons and drop off
along the way; videos are watched partly or fully; quizzes are passed and failed; surveys
carry free text that sometimes names the learner. Clients retry (the same clientEventId
again, in a later batch or on a later day), a few lines break the contract, a few events
cannot be attributed to an org, and offline clients deliver events days late.
Everything derives from the seed: the same arguments write the same files.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from tqdm import tqdm

from analytics_pipeline.config import landing_root
from analytics_pipeline.demo.caliper_corpus import CaliperIds, corrupt_event, to_events
from analytics_pipeline.demo.formats import FORMATS
from analytics_pipeline.demo.xapi_corpus import XapiIds, corrupt_statement, to_statements
from analytics_pipeline.ingestion.landing import CALIPER_MARK, XAPI_MARK, batch_file_path, write_batch_file

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
SURVEY_TEXTS = [
    "Great course, very practical.",
    "Too long, the videos drag on.",
    "Loved the quizzes!",
    "Could use more examples.",
    "Clear and concise.",
]
LESSON_KINDS = ["video", "video", "quiz", "reading"]
# Chance of a right first answer per question: q1 is too easy, q3 too hard (or keyed wrong).
QUESTION_CHANCES = {"q1": 0.97, "q2": 0.7, "q3": 0.25}
SESSION_BREAK = timedelta(minutes=30)


@dataclass
class Learner:
    user_id: str
    name: str
    email: str
    home_org: str


@dataclass
class GenerationSummary:
    batch_files: int = 0
    lines: int = 0
    events: int = 0
    retried_lines: int = 0
    invalid_lines: int = 0
    late_events: int = 0
    counts_by_day: dict[str, int] = field(default_factory=dict)


class _Generator:
    def __init__(self, rng: random.Random, orgs: int, learners: int, start: datetime, end: datetime):
        self.rng, self.start, self.end = rng, start, end
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
        course_ids = list(self.courses)
        self.org_courses = {org: sorted(rng.sample(course_ids, k=min(3, len(course_ids)))) for org in self.orgs}
        self.learners = []
        for index in range(learners):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            self.learners.append(
                Learner(
                    user_id=f"u_{index + 1:05d}",
                    name=f"{first} {last}",
                    email=f"{first}.{last}{index}@example.org".lower(),
                    home_org=rng.choice(self.orgs),
                )
            )
        self.enrollments: list[tuple[str, str, str]] = []  # (org, user, course)
        for learner in self.learners:
            for course_id in rng.sample(self.org_courses[learner.home_org], k=rng.randint(1, 2)):
                self.enrollments.append((learner.home_org, learner.user_id, course_id))
                # Some learners take the same course in a second org that assigns it too.
                others = [o for o in self.orgs if o != learner.home_org and course_id in self.org_courses[o]]
                if others and rng.random() < 0.08:
                    self.enrollments.append((rng.choice(others), learner.user_id, course_id))
        # (assigned_at, due_at): assigned up to three weeks before the data starts, due one to
        # seven weeks later, so some are overdue.
        self.due = {enrollment: self._schedule() for enrollment in self.enrollments}

    def _schedule(self) -> tuple[datetime, datetime]:
        assigned = self.start - timedelta(days=self.rng.randint(0, 21))
        return assigned, assigned + timedelta(days=self.rng.randint(7, 49))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _event(
        self,
        learner: Learner,
        org: str | None,
        course_id: str,
        at: datetime,
        event_type: str,
        session_id: str,
        lesson_id: str | None = None,
        properties: dict | None = None,
    ) -> dict:
        event = {
            "clientEventId": self._uuid(),
            "eventType": event_type,
            "occurredAt": at.isoformat().replace("+00:00", "Z"),
            "receivedAt": (at + timedelta(seconds=self.rng.randint(1, 20))).isoformat().replace("+00:00", "Z"),
            "userId": learner.user_id,
            "courseId": course_id,
            "sessionId": session_id,
            "user": {"email": learner.email, "name": learner.name},
        }
        if org:
            event["orgId"] = org
        if lesson_id:
            event["lessonId"] = lesson_id
        if properties:
            event["properties"] = properties
        return event

    def _watch(self, lesson: dict, emit) -> None:
        """A video watched as players report it: play, progress every quarter at the pace of
        playback, now and then a seek forward (a skip) or back (a re-watch), then a pause where
        the learner stopped or the end."""
        # A video the snapshot has no duration for: its player still reports one.
        duration = lesson["duration_seconds"] or 240

        def props(position: int) -> dict:
            return {"positionSeconds": position, "durationSeconds": duration}

        stop = duration if self.rng.random() < 0.65 else self.rng.randint(10, duration - 1)
        position, rewatched = 0, False
        emit("video_played", lesson["lesson_id"], props(0))
        while position < stop:
            roll = self.rng.random()
            if roll < 0.08 and position + duration // 4 < stop:  # seek forward: a skip
                position += duration // 4
                emit("video_played", lesson["lesson_id"], props(position), after=timedelta(seconds=2))
                continue
            if roll < 0.16 and not rewatched and position > duration // 4:  # seek back: a re-watch
                rewatched, position = True, position - duration // 4
                emit("video_played", lesson["lesson_id"], props(position), after=timedelta(seconds=2))
                continue
            target = min(stop, (position // (duration // 4) + 1) * (duration // 4))
            kind = "video_progress" if target < stop else ("video_completed" if stop == duration else "video_paused")
            emit(
                kind,
                lesson["lesson_id"],
                props(target),
                after=timedelta(seconds=target - position + self.rng.randint(0, 2)),
            )
            position = target

    def _take_quiz(self, lesson_id: str, emit) -> None:
        """Three questions of fixed difficulty (q1 easy, q3 hard), a retry after a wrong answer
        now and then; a failed quiz is sometimes taken again."""
        for _attempt in range(2):
            emit("quiz_started", lesson_id)
            correct = 0
            for question, chance in QUESTION_CHANCES.items():
                is_correct = self.rng.random() < chance
                emit("quiz_answered", lesson_id, {"questionId": question, "correct": is_correct})
                if not is_correct and self.rng.random() < 0.4:
                    is_correct = self.rng.random() < chance + 0.2
                    emit("quiz_answered", lesson_id, {"questionId": question, "correct": is_correct})
                correct += is_correct
            passed = correct >= 2
            emit("quiz_submitted", lesson_id, {"score": correct, "maxScore": 3, "passed": passed})
            if passed or self.rng.random() < 0.5:
                return

    def journeys(self) -> list[dict]:
        by_user = {learner.user_id: learner for learner in self.learners}
        orgs_per_course = defaultdict(int)
        for _, user, course in self.enrollments:
            orgs_per_course[(user, course)] += 1
        events = []
        window = (self.end - self.start).total_seconds()
        for org, user_id, course_id in self.enrollments:
            learner = by_user[user_id]
            if self.rng.random() < 0.1:  # assigned, never started
                continue
            # Learners enrolled in two orgs usually say which one; without orgId such an
            # event cannot be attributed. Others omit orgId now and then: it is resolvable.
            claim_probability = 0.93 if orgs_per_course[(user_id, course_id)] > 1 else 0.8
            at = self.start + timedelta(seconds=self.rng.uniform(0, window * 0.7))

            session = 0

            def emit(event_type, lesson_id=None, properties=None, after=None):
                """One event, `after` (default: 1-15 minutes) after the previous one; a pause of
                over half an hour starts a new session."""
                nonlocal at, session
                step = after if after is not None else timedelta(minutes=self.rng.randint(1, 15))
                at += step
                session += step > SESSION_BREAK
                claimed = org if self.rng.random() < claim_probability else None
                session_id = f"s_{learner.user_id}_{course_id}_{session}"
                events.append(
                    self._event(learner, claimed, course_id, at, event_type, session_id, lesson_id, properties)
                )

            emit("course_started")
            lessons = self.courses[course_id]
            finished_all = True
            for lesson in lessons:
                lesson_id = lesson["lesson_id"]
                emit("lesson_started", lesson_id)
                if lesson["kind"] == "video":
                    self._watch(lesson, emit)
                elif lesson["kind"] == "quiz":
                    self._take_quiz(lesson_id, emit)
                else:
                    emit("page_viewed", lesson_id)
                if self.rng.random() < 0.08:  # left in the middle of the lesson
                    finished_all = False
                    break
                emit("lesson_completed", lesson_id)
                if self.rng.random() < 0.06 + 0.03 * lesson["position"]:
                    finished_all = False
                    break
                at += timedelta(hours=self.rng.uniform(2, 30))
            if finished_all:
                if self.rng.random() < 0.85:
                    emit("course_completed")
                if self.rng.random() < 0.6:
                    text = self.rng.choice(SURVEY_TEXTS)
                    if self.rng.random() < 0.3:
                        text += f" I'm {learner.name}, write to me at {learner.email}."
                    emit(
                        "survey_submitted",
                        None,
                        {"rating": self.rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 4])[0], "freeText": text},
                    )
            if self.rng.random() < 0.05:  # browsing a course the learner is not enrolled in
                stray = self.rng.choice([c for c in self.courses if c != course_id])
                browsed = at + timedelta(minutes=5)
                events.append(self._event(learner, org, stray, browsed, "page_viewed", f"s_{user_id}_{browsed:%Y%m%d}"))
        return [e for e in events if e["receivedAt"] <= self.end.isoformat().replace("+00:00", "Z")]

    def make_late(self, events: list[dict], summary: GenerationSummary) -> None:
        """Offline clients: some events are delivered one to five days after they happened."""
        for event in events:
            if self.rng.random() < 0.03:
                received = datetime.fromisoformat(event["occurredAt"]) + timedelta(days=self.rng.randint(1, 5))
                if received <= self.end:
                    event["receivedAt"] = received.isoformat().replace("+00:00", "Z")
                    summary.late_events += 1


CORRUPTIONS = ("truncated", "missing_user", "unknown_type", "bad_rating", "bad_time", "no_lesson")


def _corrupt(kind: str, line: str) -> str:
    if kind == "truncated":
        return line[: len(line) // 2]
    event = json.loads(line)
    if kind == "missing_user":
        event.pop("userId")
    elif kind == "unknown_type":
        event["eventType"] = "video_rewound"
    elif kind == "bad_rating":
        event["eventType"], event["properties"] = "survey_submitted", {"rating": 9}
    elif kind == "bad_time":
        event["occurredAt"] = "yesterday"
    else:
        event["eventType"] = "lesson_started"
        event.pop("lessonId", None)
    return json.dumps(event)


def write_batch_lines(path: Path, lines: list[str], compress: bool) -> None:
    payload = ("\n".join(lines) + "\n").encode()
    write_batch_file(path, gzip.compress(payload, mtime=0) if compress else payload)


MARKS = {"native": "", "xapi": XAPI_MARK, "caliper": CALIPER_MARK}


def _format(format: str, courses: dict[str, list[dict]]) -> tuple[Callable, Callable]:
    """How a format names the courses and lessons in the snapshots, and the lines it writes
    for one native line (broken as `corruption` says, if set)."""
    if format == "xapi":
        xapi_ids = XapiIds(courses)

        def statements(line: str, corruption: str | None) -> list[str]:
            *loads, statement = to_statements(json.loads(line), xapi_ids)
            last = corrupt_statement(corruption, statement) if corruption else json.dumps(statement)
            return [json.dumps(load) for load in loads] + [last]

        return xapi_ids, statements
    if format == "caliper":
        caliper_ids = CaliperIds(courses)

        def events(line: str, corruption: str | None) -> list[str]:
            first, *grade = to_events(json.loads(line), caliper_ids)
            # A broken submission goes without its grade, as a broken native line is one line.
            return [corrupt_event(corruption, first)] if corruption else [json.dumps(e) for e in (first, *grade)]

        return caliper_ids, events
    return (lambda native_id: native_id), (
        lambda line, corruption: [_corrupt(corruption, line) if corruption else line]
    )


def _write_reference(root: Path, gen: _Generator, rename) -> None:
    ref = root / "reference"
    tables = {
        "organizations": (["org_id", "name"], [[o, ORG_NAMES[i % len(ORG_NAMES)]] for i, o in enumerate(gen.orgs)]),
        "courses": (["course_id", "title"], [[rename(c), TOPICS[i % len(TOPICS)]] for i, c in enumerate(gen.courses)]),
        "lessons": (
            ["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"],
            [
                [rename(lesson["lesson_id"]), rename(lesson["course_id"])]
                + [lesson[k] for k in ("position", "title", "kind", "duration_seconds")]
                for lessons in gen.courses.values()
                for lesson in lessons
            ],
        ),
        "enrollments": (
            ["org_id", "user_id", "course_id", "assigned_at", "due_at"],
            [
                [org, user, rename(course), *(when.isoformat() for when in gen.due[org, user, course])]
                for org, user, course in gen.enrollments
            ],
        ),
    }
    # The LMS's own record of its learners, for the learner directory (the LMS sends each
    # learner's name and e-mail with their events too).
    learners = [[learner.user_id, learner.name, learner.email] for learner in gen.learners]
    tables["learners"] = (["user_id", "name", "email"], learners)
    for name, (header, rows) in tables.items():
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        # A snapshot appears whole, as a batch file does (and on an object store too).
        write_batch_file(ref / f"{name}.csv", text.getvalue().encode())


def generate(
    landing: Path,
    *,
    orgs: int = 3,
    learners: int = 200,
    days: int = 14,
    seed: int = 7,
    end_date: date | None = None,
    format: str = "native",
) -> GenerationSummary:
    """Write a landing zone under `landing`. `end_date` (default: yesterday, UTC) is the last
    received date; the data covers `days` days up to it. `format` "xapi" writes the same
    events as xAPI statements (`<batch>.xapi.ndjson`), with Open edX keys for the course and
    lesson ids in the statements and the reference snapshots alike; "caliper" as Caliper
    events (`<batch>.caliper.ndjson`), with a Canvas-like LMS's ids (demo/caliper_corpus.py)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    end_date = end_date or (datetime.now(UTC).date() - timedelta(days=1))
    start = datetime.combine(end_date - timedelta(days=days - 1), time(), UTC)
    end = datetime.combine(end_date, time(23, 59, 59), UTC)
    rng = random.Random(seed)
    gen = _Generator(rng, orgs, learners, start, end)
    summary = GenerationSummary()
    events = gen.journeys()
    gen.make_late(events, summary)
    summary.events = len(events)
    rename, to_lines = _format(format, gen.courses)
    root = landing_root(landing)
    _write_reference(root, gen, rename)

    # A client batch: one learner's events of one received day, up to 40 at a time.
    per_client_day: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e["receivedAt"], e["clientEventId"])):
        per_client_day[(event["receivedAt"][:10], event["userId"])].append(event)
    batches: dict[str, list[list[str]]] = defaultdict(list)
    for (day, _), day_events in sorted(per_client_day.items()):
        for i in range(0, len(day_events), 40):
            batches[day].append([json.dumps(e, separators=(",", ":")) for e in day_events[i : i + 40]])

    days_sorted = sorted(batches)
    for index, day in enumerate(days_sorted):
        for lines in batches[day]:
            # Client retries: the same event again in another batch, same day or the next.
            for line in list(lines):
                if rng.random() < 0.03:
                    target_day = day if index + 1 == len(days_sorted) or rng.random() < 0.5 else days_sorted[index + 1]
                    rng.choice(batches[target_day]).append(line)
                    summary.retried_lines += 1
    # The bar draws only on a terminal (disable=None), never into logs or pipes.
    for day in tqdm(days_sorted, desc="writing batch files", unit="day", disable=None):
        for native in batches[day]:
            lines = []
            for line in native:
                corruption = rng.choice(CORRUPTIONS) if rng.random() < 0.01 else None
                lines += to_lines(line, corruption)
                summary.invalid_lines += corruption is not None
            batch_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            compress = rng.random() < 0.2
            path = batch_file_path(root, day, f"{batch_id}{MARKS[format]}", compressed=compress)
            write_batch_lines(path, lines, compress)
            summary.batch_files += 1
            summary.lines += len(lines)
            summary.counts_by_day[day] = summary.counts_by_day.get(day, 0) + len(lines)
    return summary
