"""Learners' journeys through their courses, as the events their clients send.

Learners move through ordered lessons and drop off along the way; videos are watched partly or
fully; quizzes are passed and failed; surveys carry free text that sometimes names the learner.
A few events cannot be attributed to an org.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import msgspec

from analytics_pipeline.demo.population import Learner, Population

SURVEY_TEXTS = [
    "Great course, very practical.",
    "Too long, the videos drag on.",
    "Loved the quizzes!",
    "Could use more examples.",
    "Clear and concise.",
]
# Chance of a right first answer per question: q1 is too easy, q3 too hard (or keyed wrong).
QUESTION_CHANCES = {"q1": 0.97, "q2": 0.7, "q3": 0.25}
SESSION_BREAK = timedelta(minutes=30)
_encode = msgspec.json.Encoder().encode


def to_line(event: dict) -> str:
    """A batch line: the event as compact JSON. msgspec writes the demo's values (all ASCII)
    exactly as json.dumps(separators=(",", ":")) does, several times faster."""
    return _encode(event).decode()


def timestamp(at: datetime) -> str:
    """A UTC time as events carry it. The journeys keep UTC times naive, which format faster."""
    return at.isoformat() + "Z"


def uuid4_text(bits: int) -> str:
    """`str(uuid.UUID(int=bits, version=4))`, without making a UUID object per event."""
    bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    digits = f"{bits:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class Journeys:
    def __init__(self, rng: random.Random, population: Population, start: datetime, end: datetime):
        self.rng, self.courses = rng, population.courses
        self.start, self.end = start.replace(tzinfo=None), end.replace(tzinfo=None)
        self.window_seconds = (self.end - self.start).total_seconds()
        self.last_received = timestamp(self.end)

    def of(self, learner: Learner, enrolled: list[tuple[str, str]]) -> list[dict]:
        """The events of one learner's (org, course) enrollments, in the order they were
        drawn, without those received after the last day."""
        orgs_per_course = Counter(course_id for _, course_id in enrolled)
        events: list[dict] = []
        for org, course_id in enrolled:
            if self.rng.random() < 0.1:  # assigned, never started
                continue
            # Learners enrolled in two orgs usually say which one; without orgId such an
            # event cannot be attributed. Others omit orgId now and then: it is resolvable.
            self._take_course(learner, org, course_id, 0.93 if orgs_per_course[course_id] > 1 else 0.8, events)
        return [e for e in events if e["receivedAt"] <= self.last_received]

    def _take_course(self, learner: Learner, org: str, course_id: str, claim_probability: float, events: list) -> None:
        at = self.start + timedelta(seconds=self.rng.uniform(0, self.window_seconds * 0.7))
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
            events.append(self._event(learner, claimed, course_id, at, event_type, session_id, lesson_id, properties))

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
            session_id = f"s_{learner.user_id}_{browsed:%Y%m%d}"
            events.append(self._event(learner, org, stray, browsed, "page_viewed", session_id))

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
            "clientEventId": uuid4_text(self.rng.getrandbits(128)),
            "eventType": event_type,
            "occurredAt": timestamp(at),
            "receivedAt": timestamp(at + timedelta(seconds=self.rng.randint(1, 20))),
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
