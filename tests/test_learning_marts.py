"""The learning marts (at-risk learners, video engagement, quiz items, time on task,
retention) against pandas computations written from their definitions, after a pipeline run
that lands the history in two parts (so the second run is incremental and late events move
earlier days), with hand-made edge cases; and row-level security on each of them."""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from datetime import date, datetime, timedelta

import pandas as pd
import psycopg
import pytest

from analytics_pipeline.access.grants import ensure_role, grant
from analytics_pipeline.demo.generator import generate, write_batch_lines
from analytics_pipeline.ingestion.pii import Tokenizer
from tests.conftest import TEST_PII_KEY, pipeline_environment, run_command
from tests.expected_learning import (
    expected_at_risk,
    expected_course_time_on_task,
    expected_quiz_items,
    expected_retention,
    expected_time_on_task,
    expected_video_engagement,
)
from tests.expected_metrics import resolved_events

END = date(2026, 5, 24)
NEW_MARTS = (
    "learners_at_risk",
    "video_engagement",
    "quiz_item_difficulty",
    "learner_time_on_task",
    "course_time_on_task_daily",
    "org_retention_weekly",
)


def _append_csv(path, rows: list[list]) -> None:
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _event(user: str, course: str, at: datetime, event_type: str, **fields) -> str:
    event = {
        "clientEventId": str(uuid.uuid4()),
        "eventType": event_type,
        "occurredAt": at.isoformat() + "Z",
        "receivedAt": datetime(END.year, END.month, END.day, 12).isoformat() + "Z",
        "userId": user,
        "courseId": course,
        **fields,
    }
    return json.dumps(event)


def add_edge_cases(landing) -> dict:
    """A session across midnight, a video nobody knows the duration of, a learner whose only
    events cannot be given an org (enrolled in the course in two orgs, claiming neither), a
    legacy client that sends no session id, and a glance at half of a video's first segment."""
    reference = landing / "reference"
    lessons = pd.read_csv(reference / "lessons.csv")
    course = "course_1"
    first_lesson = lessons[lessons.course_id == course].sort_values("position").lesson_id.iloc[0]
    no_duration = f"{course}_lesson_unknown_length"
    _append_csv(
        reference / "lessons.csv",
        [[no_duration, course, int(lessons[lessons.course_id == course].position.max()) + 1, "Clip", "video", ""]],
    )
    assigned, due = "2026-05-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"
    _append_csv(
        reference / "enrollments.csv",
        [
            ["org_1", "u_edge_night", course, assigned, due],
            ["org_1", "u_edge_orgless", course, assigned, due],
            ["org_2", "u_edge_orgless", course, assigned, due],
            ["org_1", "u_edge_legacy", course, assigned, due],
            ["org_1", "u_edge_glance", course, assigned, due],
        ],
    )
    videos = lessons[(lessons.course_id == course) & lessons.kind.eq("video") & lessons.duration_seconds.notna()]
    video, half_segment = videos.lesson_id.iloc[0], float(videos.duration_seconds.iloc[0]) / 20
    night = datetime(2026, 5, 20, 23, 56)
    session = {"orgId": "org_1", "sessionId": "s_edge_night"}
    lines = [
        _event("u_edge_night", course, night, "lesson_started", lessonId=first_lesson, **session),
        _event("u_edge_night", course, night + timedelta(minutes=6), "page_viewed", lessonId=first_lesson, **session),
        _event(
            "u_edge_night", course, night + timedelta(minutes=8), "lesson_completed", lessonId=first_lesson, **session
        ),
        _event(
            "u_edge_night",
            course,
            night + timedelta(minutes=9),
            "video_played",
            lessonId=no_duration,
            properties={"positionSeconds": 0},
            **session,
        ),
        _event(
            "u_edge_night",
            course,
            night + timedelta(minutes=10),
            "video_progress",
            lessonId=no_duration,
            properties={"positionSeconds": 60},
            **session,
        ),
        _event("u_edge_orgless", course, night, "course_started", sessionId="s_edge_orgless"),
        # No sessionId: a player all the same.
        _event(
            "u_edge_legacy",
            course,
            night,
            "video_played",
            lessonId=video,
            orgId="org_1",
            properties={"positionSeconds": 0},
        ),
        _event(
            "u_edge_glance",
            course,
            night,
            "video_played",
            lessonId=video,
            properties={"positionSeconds": 0},
            sessionId="s_glance",
            orgId="org_1",
        ),
        _event(
            "u_edge_glance",
            course,
            night + timedelta(seconds=half_segment),
            "video_paused",
            lessonId=video,
            properties={"positionSeconds": half_segment},
            sessionId="s_glance",
            orgId="org_1",
        ),
    ]
    write_batch_lines(landing / "events" / f"received_date={END}" / "edge-cases.ndjson", lines, compress=False)
    return {"course": course, "no_duration_lesson": no_duration, "night": night.date(), "video": video}


@pytest.fixture(scope="module")
def marts(new_database, tmp_path_factory):
    generated = tmp_path_factory.mktemp("generated")
    generate(generated, orgs=3, learners=140, days=24, seed=21, end_date=END)
    edge = add_edge_cases(generated)
    landing, home = tmp_path_factory.mktemp("landing"), tmp_path_factory.mktemp("home")
    shutil.copytree(generated / "reference", landing / "reference")
    days = sorted((generated / "events").iterdir())
    database_url = new_database()
    with pipeline_environment(database_url, new_database(), home):
        for part in (days[:-3], days[-3:]):  # the second run is incremental, with late events for earlier days
            for day in part:
                shutil.copytree(day, landing / "events" / day.name)
            done = run_command("run", "--landing", str(landing))
            assert done.returncode == 0, done.stderr[-3000:]
    late = [d.name.removeprefix("received_date=") for d in days[-3:]]
    events = resolved_events(generated)
    late_earlier = events[
        events.received_at.dt.date.astype(str).isin(late) & (events.activity_date < date.fromisoformat(late[0]))
    ]
    assert len(late_earlier) > 0, "the second part should hold late events of earlier days"
    tokens = Tokenizer(TEST_PII_KEY.encode())
    return {
        "url": database_url,
        "events": events,
        "enrollments": pd.read_csv(generated / "reference" / "enrollments.csv"),
        "lessons": pd.read_csv(generated / "reference" / "lessons.csv"),
        "token": tokens.token,
        "edge": edge,
    }


def mart(url: str, name: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(f"SELECT * FROM marts.{name}")
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def with_user_ids(frame: pd.DataFrame, marts_fixture) -> pd.DataFrame:
    """The expected frame keyed by token, as the marts are."""
    frame = frame.copy()
    frame["user_token"] = frame.pop("user_id").map(marts_fixture["token"])
    return frame


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str], exact: list[str], close: list[str]):
    assert len(actual) == len(expected)
    merged = actual.merge(expected, on=key, how="outer", suffixes=("", "_expected"), indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"][key].head()
    for column in exact:
        a, b = merged[column], merged[f"{column}_expected"]
        both_missing = a.map(_missing) & b.map(_missing)
        assert ((a == b) | both_missing).all(), merged[~((a == b) | both_missing)][key + [column]].head()
    for column in close:
        a = pd.to_numeric(merged[column], errors="coerce").astype(float)
        b = pd.to_numeric(merged[f"{column}_expected"], errors="coerce").astype(float)
        assert ((a - b).abs() < 1e-4).where(a.notna() | b.notna(), True).all(), column
        assert (a.isna() == b.isna()).all(), column


def test_time_on_task_matches_its_definition(marts):
    expected = with_user_ids(expected_time_on_task(marts["events"]), marts)
    actual = mart(marts["url"], "learner_time_on_task")
    key = ["org_id", "course_id", "user_token", "activity_date"]
    assert_same(actual, expected, key, ["sessions", "events"], ["seconds_on_task"])
    # The session across midnight: its first gap (6 minutes, capped at 5) belongs to the day it
    # opens on; the next day holds the other three (2 + 1 + 1 minutes).
    night = actual[actual.user_token == marts["token"]("u_edge_night")].set_index("activity_date").seconds_on_task
    first_day = marts["edge"]["night"]
    assert float(night[first_day]) == 300 and float(night[first_day + timedelta(days=1)]) == 240
    daily = expected_course_time_on_task(expected_time_on_task(marts["events"]))
    assert_same(
        mart(marts["url"], "course_time_on_task_daily"),
        daily,
        ["org_id", "course_id", "activity_date"],
        ["learners"],
        ["median_seconds_on_task"],
    )


def test_quiz_item_difficulty_matches_its_definition(marts):
    expected = expected_quiz_items(marts["events"])
    actual = mart(marts["url"], "quiz_item_difficulty")
    assert_same(
        actual,
        expected,
        ["org_id", "course_id", "lesson_id", "question_id"],
        ["learners_answered", "flag"],
        ["first_attempt_correct_rate", "eventual_correct_rate", "attempts_per_learner"],
    )
    assert {"too_hard", "too_easy"} <= set(actual.flag.dropna())


def test_video_engagement_matches_its_definition(marts):
    expected = expected_video_engagement(marts["events"], marts["lessons"])
    actual = mart(marts["url"], "video_engagement")
    assert_same(
        actual,
        expected,
        ["org_id", "course_id", "lesson_id", "segment"],
        ["learners_played", "viewers", "views"],
        ["reach_rate", "duration_seconds"],
    )
    assert (actual.views > actual.viewers).any(), "re-watches count as views"
    first = expected[(expected.org_id == "org_1") & (expected.lesson_id == marts["edge"]["video"])]
    sessionless = marts["events"][marts["events"].session_id.isna() & marts["events"].event_type.eq("video_played")]
    assert len(sessionless) > 0 and first.learners_played.iloc[0] > 0
    assert marts["edge"]["no_duration_lesson"] not in set(actual.lesson_id)
    no_reference_duration = marts["lessons"][
        marts["lessons"].kind.eq("video") & marts["lessons"].duration_seconds.isna()
    ]
    assert set(no_reference_duration.lesson_id) & set(actual.lesson_id), "a duration the player reported is used"


def test_retention_matches_its_definition(marts):
    expected = expected_retention(marts["events"])
    actual = mart(marts["url"], "org_retention_weekly")
    assert_same(
        actual,
        expected,
        ["org_id", "week_start"],
        ["active_learners", "returned_week_1", "returned_week_2", "returned_week_4"],
        ["retention_week_1", "retention_week_2", "retention_week_4"],
    )


def test_learners_at_risk_match_their_definition(marts):
    expected = with_user_ids(expected_at_risk(marts["events"], marts["enrollments"], marts["lessons"]), marts)
    actual = mart(marts["url"], "learners_at_risk")
    actual["reasons"] = actual.reasons.map(list)
    expected["reasons"] = expected.reasons.map(list)
    assert_same(
        actual,
        expected,
        ["org_id", "course_id", "user_token"],
        ["risk_level", "reasons", "lessons_completed", "lessons_total", "days_to_due"],
        [],
    )
    reasons = {reason for row in actual.reasons for reason in row}
    assert {"inactive", "overdue", "behind_pace", "never_started"} <= reasons
    # Enrolled in two orgs, claiming neither: its events count nowhere, so it never started in both.
    orgless = actual[actual.user_token == marts["token"]("u_edge_orgless")]
    assert set(orgless.org_id) == {"org_1", "org_2"} and all("never_started" in r for r in orgless.reasons)
    twice = marts["enrollments"].groupby(["user_id", "course_id"]).org_id.nunique()
    assert (twice > 1).sum() > 1, "the corpus has learners enrolled in one course in two orgs"


def test_a_tenant_reads_only_its_org_in_every_learning_mart(marts):
    role = f"tenant_learning_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(marts["url"], autocommit=True) as conn:
        ensure_role(conn, role)
        grant(conn, role, "org_2")
        for name in NEW_MARTS:
            with conn.transaction():
                owner_orgs = {r[0] for r in conn.execute(f"SELECT DISTINCT org_id FROM marts.{name}")}
                conn.execute(f'SET LOCAL ROLE "{role}"')
                tenant_orgs = {r[0] for r in conn.execute(f"SELECT DISTINCT org_id FROM marts.{name}")}
            assert len(owner_orgs) > 1 and tenant_orgs == {"org_2"}, name
