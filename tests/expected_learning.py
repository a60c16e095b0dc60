"""The learning marts computed with pandas from their definitions (docs/metrics.md and the
marts' schema.yml), over the events tests/expected_metrics.py reads from the landing files.
Nothing here is shared with the dbt models."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

VIDEO = ("video_played", "video_progress", "video_paused", "video_completed")
PLAYING = ("video_played", "video_progress")
RISK_THRESHOLDS = {"inactive_days": 7, "behind_pace_points": 25, "failing_quizzes_min": 2, "never_started_days": 3}


def data_fresh_as_of(events: pd.DataFrame) -> pd.Timestamp:
    """The newest receivedAt of an event with an org."""
    return events.received_at.max()


def _ordered(events: pd.DataFrame, session_key: list[str]) -> pd.DataFrame:
    return events.sort_values(session_key + ["occurred_at", "client_event_id"], kind="stable")


def expected_time_on_task(events: pd.DataFrame) -> pd.DataFrame:
    """Per (org, course, learner, day): sessions, events and the capped gaps each day opens."""
    key = ["org_id", "user_id", "course_id", "session_id"]
    e = _ordered(events.dropna(subset=["session_id"]), key).copy()
    following = e.groupby(key).occurred_at.shift(-1)
    e["gap"] = ((following - e.occurred_at).dt.total_seconds()).clip(upper=300).fillna(0)
    return (
        e.groupby(["org_id", "course_id", "user_id", "activity_date"])
        .agg(sessions=("session_id", "nunique"), events=("gap", "size"), seconds_on_task=("gap", "sum"))
        .reset_index()
    )


def expected_course_time_on_task(per_learner: pd.DataFrame) -> pd.DataFrame:
    return (
        per_learner.groupby(["org_id", "course_id", "activity_date"])
        .agg(learners=("user_id", "size"), median_seconds_on_task=("seconds_on_task", "median"))
        .reset_index()
    )


def expected_quiz_items(events: pd.DataFrame) -> pd.DataFrame:
    answers = _ordered(events[events.event_type == "quiz_answered"], ["org_id", "user_id"])
    item = ["org_id", "course_id", "lesson_id", "question_id"]
    per_learner = answers.groupby(item + ["user_id"], sort=False).agg(
        attempts=("correct", "size"), first=("correct", "first"), ever=("correct", "any")
    )
    items = (
        per_learner.groupby(item)
        .agg(
            learners_answered=("attempts", "size"),
            first_attempt_correct_rate=("first", "mean"),
            eventual_correct_rate=("ever", "mean"),
            attempts=("attempts", "sum"),
        )
        .reset_index()
    )
    items["attempts_per_learner"] = items.attempts / items.learners_answered
    items["flag"] = np.select(
        [items.first_attempt_correct_rate < 0.30, items.first_attempt_correct_rate > 0.95],
        ["too_hard", "too_easy"],
        default=None,
    )
    return items.drop(columns="attempts")


def watched_ranges(events: pd.DataFrame) -> pd.DataFrame:
    """Per session of a video, the [start, end) ranges played: a playing event followed by a
    position further on, reached no faster than twice the playback speed (+5 s); each with
    its pass, the number of jumps back (a position behind the one before) earlier in the session."""
    key = ["org_id", "user_id", "course_id", "lesson_id", "session_id"]
    v = _ordered(events[events.event_type.isin(VIDEO)].dropna(subset=["session_id"]), key).copy()
    grouped = v.groupby(key)
    v["next_position"] = grouped.position.shift(-1)
    v["next_at"] = grouped.occurred_at.shift(-1)
    v["pass_number"] = (v.position < grouped.position.shift(1)).astype(int).groupby([v[k] for k in key]).cumsum()
    advance = v.next_position - v.position
    seconds = (v.next_at - v.occurred_at).dt.total_seconds()
    watched = v.event_type.isin(PLAYING) & (advance > 0) & (advance <= 2 * seconds + 5)
    return v[watched].assign(start=v.position, end=v.next_position)[key + ["pass_number", "start", "end"]]


def expected_video_engagement(events: pd.DataFrame, lessons: pd.DataFrame) -> pd.DataFrame:
    """Per (org, course, video, segment): learners_played counts every learner with a
    video_played on the video, with or without a session; a segment's viewers are the learners
    who watched any part of it, its views the passes (per session, until a jump back) that did."""
    video_events = events[events.event_type.isin(VIDEO)]
    in_sessions = video_events.dropna(subset=["session_id"])
    players = video_events[video_events.event_type == "video_played"]
    ranges = watched_ranges(events)
    reported = in_sessions.groupby(["course_id", "lesson_id"]).duration.max()
    videos = pd.concat([in_sessions, players])[["org_id", "course_id", "lesson_id"]].drop_duplicates()
    rows = []
    for org, course, lesson in videos.itertuples(index=False):
        known = lessons[(lessons.lesson_id == lesson) & (lessons.course_id == course)]
        if known.empty:
            continue
        duration = known.duration_seconds.iloc[0]
        if pd.isna(duration):
            duration = reported.get((course, lesson))
        if duration is None or pd.isna(duration) or duration <= 0:
            continue
        mine_played = players[(players.org_id == org) & (players.course_id == course) & (players.lesson_id == lesson)]
        played = mine_played.user_id.nunique()
        mine = ranges[(ranges.org_id == org) & (ranges.course_id == course) & (ranges.lesson_id == lesson)]
        for segment in range(1, 11):
            begins, ends = (segment - 1) * float(duration) / 10, segment * float(duration) / 10
            covering = mine[(mine.start < ends) & (begins < mine.end)]
            viewers = covering.user_id.nunique()
            rows.append(
                {
                    "org_id": org,
                    "course_id": course,
                    "lesson_id": lesson,
                    "segment": segment,
                    "duration_seconds": float(duration),
                    "learners_played": played,
                    "viewers": viewers,
                    "views": len(covering[["user_id", "session_id", "pass_number"]].drop_duplicates()),
                    "reach_rate": viewers / played if played else None,
                }
            )
    return pd.DataFrame(rows)


def expected_retention(events: pd.DataFrame) -> pd.DataFrame:
    as_of_date = data_fresh_as_of(events).date()
    dates = pd.to_datetime(events.activity_date)
    weeks = events.assign(week=(dates - pd.to_timedelta(dates.dt.weekday, unit="D")).dt.date)
    active = weeks.groupby(["org_id", "week"]).user_id.agg(set)
    rows = []
    for (org, week), learners in active.items():
        row = {"org_id": org, "week_start": week, "active_learners": len(learners)}
        for k in (1, 2, 4):
            later = active.get((org, week + timedelta(weeks=k)), set())
            row[f"returned_week_{k}"] = len(learners & later)
            began = week + timedelta(weeks=k) <= as_of_date
            row[f"retention_week_{k}"] = len(learners & later) / len(learners) if began else None
        rows.append(row)
    return pd.DataFrame(rows)


def expected_at_risk(events: pd.DataFrame, enrollments: pd.DataFrame, lessons: pd.DataFrame) -> pd.DataFrame:
    """Every enrollment not completed, its reasons and risk level, judged at data_fresh_as_of."""
    as_of = data_fresh_as_of(events)
    key = ["org_id", "user_id", "course_id"]
    total = lessons.groupby("course_id").size()
    done = (
        events[events.event_type == "lesson_completed"]
        .merge(lessons[["lesson_id", "course_id"]])
        .groupby(key)
        .lesson_id.nunique()
    )
    completed_course = set(map(tuple, events[events.event_type == "course_completed"][key].values))
    last = events.groupby(key).occurred_at.max()
    submitted = events[events.event_type == "quiz_submitted"]
    failed = submitted[~submitted.passed.astype(bool)].groupby(key).size()
    passed = submitted[submitted.passed.astype(bool)].groupby(key).size()
    t = RISK_THRESHOLDS
    rows = []
    for enrollment in enrollments.itertuples():
        k = (enrollment.org_id, enrollment.user_id, enrollment.course_id)
        lessons_total, lessons_completed = int(total.get(enrollment.course_id, 0)), int(done.get(k, 0))
        if k in completed_course or (lessons_total > 0 and lessons_completed == lessons_total):
            continue
        assigned, due = pd.Timestamp(enrollment.assigned_at), pd.Timestamp(enrollment.due_at)
        last_at = last.get(k)
        reasons = []
        if last_at is not None and last_at <= as_of - timedelta(days=t["inactive_days"]):
            reasons.append("inactive")
        if due < as_of:
            reasons.append("overdue")
        if due > assigned and lessons_total > 0:
            elapsed = min(max((as_of - assigned) / (due - assigned), 0), 1)
            if lessons_completed / lessons_total < elapsed - t["behind_pace_points"] / 100:
                reasons.append("behind_pace")
        if failed.get(k, 0) >= t["failing_quizzes_min"] and passed.get(k, 0) == 0:
            reasons.append("failing_quizzes")
        if last_at is None and assigned <= as_of - timedelta(days=t["never_started_days"]):
            reasons.append("never_started")
        if {"overdue", "failing_quizzes"} & set(reasons) or len(reasons) >= 2:
            level = "high"
        else:
            level = "medium" if reasons else "low"
        rows.append(
            {
                "org_id": k[0],
                "user_id": k[1],
                "course_id": k[2],
                "risk_level": level,
                "reasons": reasons,
                "lessons_completed": lessons_completed,
                "lessons_total": lessons_total,
                "days_to_due": (due.date() - as_of.date()).days,
            }
        )
    return pd.DataFrame(rows)
