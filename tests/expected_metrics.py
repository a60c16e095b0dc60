"""An independent computation of the marts with pandas, straight from the landing files.

It shares no code with the pipeline: its own parsing, validity rules (those the demo
generator breaks), dedupe, org resolution and metric definitions from docs/.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

EVENT_TYPES = {
    "course_started",
    "course_completed",
    "lesson_started",
    "lesson_completed",
    "video_played",
    "video_paused",
    "video_progress",
    "video_completed",
    "quiz_started",
    "quiz_answered",
    "quiz_submitted",
    "survey_submitted",
    "page_viewed",
}
LESSON_SCOPED = ("lesson_", "video_", "quiz_")


def _valid(event) -> bool:
    if not isinstance(event, dict):
        return False
    for key in ("clientEventId", "eventType", "occurredAt", "receivedAt", "userId", "courseId"):
        if not isinstance(event.get(key), str) or not event[key]:
            return False
    try:
        uuid.UUID(event["clientEventId"])
        for key in ("occurredAt", "receivedAt"):
            if datetime.fromisoformat(event[key].replace("Z", "+00:00")).tzinfo is None:
                return False
    except ValueError:
        return False
    if event["eventType"] not in EVENT_TYPES:
        return False
    if event["eventType"].startswith(LESSON_SCOPED) and not event.get("lessonId"):
        return False
    if event["eventType"] == "survey_submitted":
        rating = (event.get("properties") or {}).get("rating")
        return isinstance(rating, int) and 1 <= rating <= 5
    return True


def read_landing(root: Path) -> tuple[pd.DataFrame, int, int]:
    """(unique valid events, invalid line count, duplicate line count)."""
    rows, invalid, duplicates, seen = [], 0, 0, set()
    for path in sorted((root / "events").glob("received_date=*/*.ndjson*")):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        for raw in data.split(b"\n")[:-1]:
            try:
                event = json.loads(raw)
            except ValueError:
                invalid += 1
                continue
            if not _valid(event):
                invalid += 1
            elif event["clientEventId"] in seen:
                duplicates += 1
            else:
                seen.add(event["clientEventId"])
                properties = event.get("properties") or {}
                rows.append(
                    {
                        "client_event_id": event["clientEventId"],
                        "occurred_at": pd.Timestamp(event["occurredAt"]).tz_convert("UTC"),
                        "received_at": pd.Timestamp(event["receivedAt"]).tz_convert("UTC"),
                        "session_id": event.get("sessionId"),
                        "position": properties.get("positionSeconds"),
                        "duration": properties.get("durationSeconds"),
                        "question_id": properties.get("questionId"),
                        "correct": properties.get("correct"),
                        "passed": properties.get("passed"),
                        "user_id": event["userId"],
                        "course_id": event["courseId"],
                        "lesson_id": event.get("lessonId"),
                        "claimed_org": event.get("orgId"),
                        "event_type": event["eventType"],
                        "activity_date": datetime.fromisoformat(event["occurredAt"].replace("Z", "+00:00"))
                        .astimezone(UTC)
                        .date(),
                        "rating": properties.get("rating"),
                    }
                )
    return pd.DataFrame(rows), invalid, duplicates


def resolve_orgs(events: pd.DataFrame, enrollments: pd.DataFrame) -> pd.DataFrame:
    enrolled = set(zip(enrollments.org_id, enrollments.user_id, enrollments.course_id))
    counts = enrollments.groupby(["user_id", "course_id"]).org_id.agg(list).to_dict()

    def org(row):
        if (row.claimed_org, row.user_id, row.course_id) in enrolled:
            return row.claimed_org
        orgs = counts.get((row.user_id, row.course_id), [])
        return orgs[0] if len(orgs) == 1 else None

    events = events.copy()
    events["org_id"] = events.apply(org, axis=1)
    return events


def expected_marts(root: Path):
    """(completion DataFrame, dropoff DataFrame, unresolved event count)."""
    events, _, _ = read_landing(root)
    enrollments = pd.read_csv(root / "reference" / "enrollments.csv")
    lessons = pd.read_csv(root / "reference" / "lessons.csv").rename(columns={"position": "lesson_position"})
    events = resolve_orgs(events, enrollments)
    unresolved = int(events.org_id.isna().sum())
    events = events.dropna(subset=["org_id"])
    key = ["org_id", "user_id", "course_id"]

    reach = events.dropna(subset=["lesson_id"]).merge(lessons[["lesson_id", "course_id", "lesson_position"]])
    reach = reach[key + ["lesson_id", "lesson_position"]].drop_duplicates()
    done_lessons = (
        events[events.event_type == "lesson_completed"]
        .merge(lessons[["lesson_id", "course_id"]])[key + ["lesson_id"]]
        .drop_duplicates()
        .groupby(key)
        .size()
        .rename("lessons_done")
    )
    total = lessons.groupby("course_id").size().rename("lessons_total")
    course_done = set(map(tuple, events[events.event_type == "course_completed"][key].values))

    status = enrollments[key].drop_duplicates().merge(done_lessons.reset_index(), how="left", on=key)
    status = status.merge(total.reset_index(), how="left", on="course_id").fillna({"lessons_done": 0})
    status["completed"] = [
        (o, u, c) in course_done or (t > 0 and d == t)
        for o, u, c, d, t in zip(
            status.org_id, status.user_id, status.course_id, status.lessons_done, status.lessons_total
        )
    ]
    completion = (
        status.groupby(["org_id", "course_id"])
        .agg(enrolled_learners=("user_id", "size"), completed_learners=("completed", "sum"))
        .reset_index()
    )
    completion["completion_rate"] = completion.completed_learners / completion.enrolled_learners

    furthest = reach.groupby(key).lesson_position.max().rename("furthest").reset_index()
    r = reach.merge(furthest, on=key).merge(status[key + ["completed"]], how="left", on=key)
    r["continued"] = (r.furthest > r.lesson_position) | r.completed.fillna(False).astype(bool)
    funnel = (
        r.groupby(["org_id", "course_id", "lesson_id"])
        .agg(learners_started=("user_id", "size"), learners_continued=("continued", "sum"))
        .reset_index()
    )
    grid = (
        enrollments[["org_id", "course_id"]]
        .drop_duplicates()
        .merge(lessons[["lesson_id", "course_id", "lesson_position"]])
    )
    dropoff = grid.merge(funnel, how="left", on=["org_id", "course_id", "lesson_id"]).fillna(
        {"learners_started": 0, "learners_continued": 0}
    )
    dropoff["dropoff_rate"] = [
        1 - c / s if s else None for s, c in zip(dropoff.learners_started, dropoff.learners_continued)
    ]
    return completion, dropoff, unresolved


def resolved_events(root: Path) -> pd.DataFrame:
    """The unique valid events that have an org."""
    events, _, _ = read_landing(root)
    events = resolve_orgs(events, pd.read_csv(root / "reference" / "enrollments.csv"))
    return events.dropna(subset=["org_id"])


def expected_engagement(root: Path) -> pd.DataFrame:
    """Per org and UTC day of occurrence: distinct active learners and events."""
    events = resolved_events(root)
    return (
        events.groupby(["org_id", "activity_date"])
        .agg(active_learners=("user_id", "nunique"), events=("user_id", "size"))
        .reset_index()
    )


def expected_surveys(root: Path) -> pd.DataFrame:
    """Per org: responses, responses per rating, and the average rating."""
    surveys = resolved_events(root)
    surveys = surveys[surveys.event_type == "survey_submitted"].astype({"rating": int})
    totals = surveys.groupby("org_id").agg(responses=("rating", "size"), average_rating=("rating", "mean"))
    per_rating = surveys.pivot_table(index="org_id", columns="rating", values="user_id", aggfunc="size", fill_value=0)
    per_rating.columns = [f"rating_{k}" for k in per_rating.columns]
    return totals.join(per_rating).reset_index()
