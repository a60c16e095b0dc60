"""Real Open edX statements (event-routing-backends' own expected outputs, in
tests/fixtures/openedx_xapi/ with their source and licence) posted as Open edX posts them, to
a real server on loopback, ingested into a real PostgreSQL, and through the whole pipeline."""

from __future__ import annotations

import base64
import csv
import json
import os
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from analytics_pipeline.access.credentials import create_token, create_write_key
from analytics_pipeline.access.grants import ensure_role, grant
from analytics_pipeline.environment import bootstrap
from analytics_pipeline.in_process_run import Executor, local_instance, run_pipeline
from analytics_pipeline.ingestion.contract import Rejection
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.ingestion.xapi.mapping import read_statement, to_event
from scripts.chromium import chromium, chromium_binaries
from tests.browser_helpers import chart, wait_loaded
from tests.conftest import TEST_PII_KEY, pipeline_environment
from tests.landing_helpers import ingest_landed
from tests.web_helpers import get, web_server

FIXTURES = Path(__file__).parent / "fixtures" / "openedx_xapi"
TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
COURSE = "course-v1:edX+DemoX+Demo_Course"
BLOCK = "block-v1:edX+DemoX+Demo_Course+type@{}+block@{}"
VIDEO = BLOCK.format("video", "0b9e39477cf34507a7a48f74be381fdd")
PROBLEM = BLOCK.format("problem", "3fc5461f86764ad7bdbdf6cbdde61e66")
GROUPED_PROBLEM = BLOCK.format("problem", "a0effb954cca4759994f1ac9e9434bf4")
COMPLETED_BLOCK = BLOCK.format("problem", "7c54b16c8ed34f9f8772015178c7a175")
LEARNER = "32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb"  # the anonymous id every fixture's actor has
GRADE_FILES = {"edx.course.grade.now_passed.json", "edx.course.grade.passed.first_time.json"}

# What each statement of each file becomes, in the file's order, as docs/xapi.md says: an
# event type, or a dead letter's reason code. Written from the documented rules, not read back.
UNMAPPED = "dead:unmapped_verb"
EXPECTED = {
    "complete_video": ["video_completed"],
    "edx.completion.block_completion.changed": ["lesson_completed"],
    "edx.course.enrollment.activated.enterprise": ["dead:enrollment_statement"],
    "edx.course.enrollment.activated": ["dead:enrollment_statement"],
    "edx.course.enrollment.activated.required.only.data": ["dead:enrollment_statement"],
    "edx.course.enrollment.deactivated": ["dead:enrollment_statement"],
    "edx.course.enrollment.mode_changed": ["dead:enrollment_statement"],
    "edx.course.grade.now_failed": ["dead:course_grade_failed"],
    "edx.course.grade.now_passed": ["course_completed"],
    "edx.course.grade.passed.first_time": ["course_completed"],
    **{
        f"edx.forum.{thing}.{action}": [UNMAPPED]
        for thing in ("comment", "response", "thread")
        for action in ("created", "deleted", "edited", "reported", "unreported")
    },
    "edx.forum.response.voted": [UNMAPPED],
    "edx.forum.thread.viewed": [UNMAPPED],
    "edx.forum.thread.voted": [UNMAPPED],
    "edx.grades.course.grade_calculated_letter_grade": [UNMAPPED],
    "edx.grades.course.grade_calculated_no_letter_grade": [UNMAPPED],
    "edx.grades.problem.submitted": ["quiz_submitted"],
    "edx.grades.problem.submitted.weighted_possible_0": ["quiz_submitted"],
    "edx.grades.subsection.grade_calculated": [UNMAPPED],
    "edx.grades.subsection.grade_calculated.weighted_possible_0": [UNMAPPED],
    "edx.problem.completed(proposed)": ["quiz_answered"],  # without correctness
    "edx.problem.hint.demandhint_displayed": [UNMAPPED],
    **{f"edx.special_exam.{kind}.attempt.created": ["quiz_started"] for kind in ("practice", "proctored", "timed")},
    **{f"edx.special_exam.{kind}.attempt.submitted": [UNMAPPED] for kind in ("practice", "proctored", "timed")},
    "edx.ui.lms.link_clicked(anonymous_user)": ["lesson_started"],
    "edx.ui.lms.link_clicked": ["lesson_started"],
    "edx.ui.lms.link_clicked.required.only.data": ["lesson_started"],
    "edx.ui.lms.outline.selected": ["lesson_started"],
    "edx.ui.lms.sequence.next_selected": ["lesson_started"],
    "edx.ui.lms.sequence.previous_selected": ["lesson_started"],
    "edx.ui.lms.sequence.tab_selected": ["lesson_started"],
    "edx.video.closed_captions.hidden": [UNMAPPED],
    "edx.video.closed_captions.shown": [UNMAPPED],
    "hide_transcript": [UNMAPPED],
    "load_video": ["dead:player_loaded"],
    "load_video.required.only.data": ["dead:player_loaded"],
    "pause_video": ["video_paused"],
    "play_video.ccx": ["video_played"],
    "play_video": ["video_played"],
    "problem_check(browser).ccx": ["quiz_started"],
    "problem_check(browser)": ["quiz_started"],
    "problem_check(browser).required.only.data": ["dead:invalid_statement"],  # its object has no id
    "problem_check(browser)legacy": ["quiz_started"],
    "problem_check(server)": ["quiz_answered"],
    "problem_check(server).list_answers": ["quiz_answered"] * 5,
    "problem_check(server).max_grade_0": ["quiz_answered"],
    "problem_check(server)_no_response_type": ["quiz_answered"],
    "problem_check(server,multiple_questions,correct)": ["quiz_answered"] * 4,
    "problem_check(server,multiple_questions,incorrect)": ["quiz_answered"] * 4,
    "problem_check(server,multiple_questions,partial_correct)": ["quiz_answered"] * 4,
    "problem_check(server,string_anwers)": ["quiz_answered"],
    "problem_check(server,unsupported_responsetype)": ["quiz_answered"],
    "seek_video": ["video_progress"],
    "show_transcript": [UNMAPPED],
    "showanswer": [UNMAPPED],
    "speed_change_video": [UNMAPPED],
    "stop_video": ["video_paused"],
    "video_hide_cc_menu": [UNMAPPED],
    "video_show_cc_menu": [UNMAPPED],
}


def fixture_statements(name: str) -> list[dict]:
    data = json.loads((FIXTURES / name).read_text())
    return data if isinstance(data, list) else [data]


def own_ids(name: str) -> list[dict]:
    """The file's statements under ids of their own. The fixtures are variants of a few
    tracking-log events and reuse those events' ids; posted as they are into one LRS, a
    variant is rightly a conflict (409, tested below). Everything else is left as it came,
    a reference to another statement of the file following its new id."""
    text = (FIXTURES / name).read_text()
    for statement in fixture_statements(name):
        old = statement["id"]
        text = text.replace(old, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}#{old}")))
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def all_files() -> list[str]:
    return sorted(path.name for path in FIXTURES.glob("*.json"))


def open_edx_headers(key: str) -> dict:
    # event-routing-backends' LRS client: Basic auth with the key, xAPI 1.0.3.
    token = base64.b64encode(f"{key}:".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}


def write_snapshots(landing: Path, learners=(LEARNER, "u-never-started")) -> None:
    """The LMS's snapshots of the Demo Course: its leaf blocks as lessons."""
    reference = landing / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    tables = {
        "organizations": [["org_id", "name"], ["org_a", "Org A"]],
        "courses": [["course_id", "title"], [COURSE, "Demonstration Course"]],
        "lessons": [
            ["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"],
            [VIDEO, COURSE, 1, "Welcome video", "video", 195],
            [PROBLEM, COURSE, 2, "Checkboxes", "quiz", ""],
            [GROUPED_PROBLEM, COURSE, 3, "Multiple choice", "quiz", ""],
            [COMPLETED_BLOCK, COURSE, 4, "Final check", "quiz", ""],
        ],
        "enrollments": [["org_id", "user_id", "course_id", "assigned_at", "due_at"]]
        + [["org_a", learner, COURSE, "2020-01-01T00:00:00Z", ""] for learner in learners],
    }
    for name, rows in tables.items():
        with (reference / f"{name}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)


@pytest.fixture
def open_edx_lrs(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    write_snapshots(landing)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        key = create_write_key(conn, "open edx").key
    with web_server(landing, migrated_db, parts=("ingest",)) as base:
        yield {"base": base, "landing": landing, "url": migrated_db, "key": key}


def post(lrs: dict, body) -> requests.Response:
    return requests.post(lrs["base"] + "/xAPI/statements", json=body, headers=open_edx_headers(lrs["key"]), timeout=30)


def ingest_and_read(lrs: dict) -> tuple[dict[str, str], tuple]:
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        ingest_landed(conn, lrs["landing"], TOKENIZER)
        found = {
            str(event_id): event_type
            for event_id, event_type in conn.execute("SELECT client_event_id, event_type FROM raw.analytics_events")
        }
        totals = conn.execute(
            "SELECT sum(lines), sum(accepted), sum(duplicates), sum(dead_lettered) FROM raw.analytics_event_batches"
        ).fetchone()
        # A dead letter is found by its line: the landed file holds each statement as posted.
        for path, line_no, code in conn.execute(
            "SELECT landing_path, line_no, reason_code FROM raw.analytics_dead_letters"
        ).fetchall():
            line = (lrs["landing"] / path).read_bytes().splitlines()[line_no - 1]
            found[json.loads(line)["id"]] = f"dead:{code}"
    return found, tuple(int(n) for n in totals)


def expected_by_id() -> dict[str, str]:
    return {
        statement["id"]: outcome
        for name in all_files()
        for statement, outcome in zip(own_ids(name), EXPECTED[name.removesuffix(".json")], strict=True)
    }


def test_every_fixture_file_has_its_expected_outcomes_listed():
    assert sorted(EXPECTED) == sorted(name.removesuffix(".json") for name in all_files())
    assert sum(len(fixture_statements(name)) for name in all_files()) == 90


def test_each_real_file_posted_as_open_edx_posts_it_is_events_or_specific_dead_letters(open_edx_lrs):
    for name in all_files():
        answer = post(open_edx_lrs, own_ids(name))
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json() == [s["id"] for s in own_ids(name)]
    found, totals = ingest_and_read(open_edx_lrs)
    assert found == expected_by_id()  # none lost, each what the documented rules make it
    lines, accepted, duplicates, dead = totals
    assert (lines, duplicates) == (90, 0) and accepted + dead == lines


def test_all_real_statements_as_one_batch_land_and_none_is_refused(open_edx_lrs):
    batch = [statement for name in all_files() for statement in own_ids(name)]
    answer = post(open_edx_lrs, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [s["id"] for s in batch]
    found, totals = ingest_and_read(open_edx_lrs)
    assert found == expected_by_id()
    assert totals[0] == 90 and totals[1] + totals[3] == 90


def test_a_real_variant_under_an_id_already_stored_is_a_conflict(open_edx_lrs):
    assert post(open_edx_lrs, fixture_statements("problem_check(server).json")).status_code == 200
    variant = post(open_edx_lrs, fixture_statements("problem_check(server).max_grade_0.json"))
    assert variant.status_code == 409 and "c9c7da1a" in variant.json()["error"]


def events_of(name: str, lessons=None) -> list:
    return [to_event(read_statement(statement), lessons) for statement in own_ids(name)]


def test_real_completions_scores_ccx_and_videos_read_as_documented():
    (passed,) = events_of("edx.course.grade.now_passed.json")
    assert (passed["eventType"], passed["courseId"], passed.get("lessonId")) == ("course_completed", COURSE, None)
    (block,) = events_of("edx.completion.block_completion.changed.json", frozenset({COMPLETED_BLOCK}))
    assert (block["eventType"], block["lessonId"]) == ("lesson_completed", COMPLETED_BLOCK)
    (not_a_lesson,) = events_of("edx.completion.block_completion.changed.json", frozenset({VIDEO}))
    assert isinstance(not_a_lesson, Rejection) and not_a_lesson.code == "not_a_lesson"
    (graded,) = events_of("edx.grades.problem.submitted.json")
    assert graded["eventType"] == "quiz_submitted" and graded["lessonId"] == PROBLEM
    assert graded["properties"] == {"score": 0, "maxScore": 1, "scaledScore": 0, "passed": False}
    (worth_nothing,) = events_of("edx.grades.problem.submitted.weighted_possible_0.json")
    assert worth_nothing["properties"] == {"passed": True}  # 0 out of 0 is no score; success stays
    group, *questions = events_of("problem_check(server,multiple_questions,partial_correct).json")
    assert group["properties"] == {
        "questionId": GROUPED_PROBLEM,
        "correct": False,
        "score": 2,
        "maxScore": 3,
        "scaledScore": pytest.approx(2 / 3),
    }
    assert [(q["lessonId"], q["properties"]["questionId"], q["properties"]["correct"]) for q in questions] == [
        (GROUPED_PROBLEM, f"{GROUPED_PROBLEM}_2_1", True),
        (GROUPED_PROBLEM, f"{GROUPED_PROBLEM}_4_1", True),
        (GROUPED_PROBLEM, f"{GROUPED_PROBLEM}_3_1", False),
    ]
    (ccx,) = events_of("play_video.ccx.json")
    (master,) = events_of("play_video.json")
    assert (ccx["courseId"], ccx["lessonId"]) == (master["courseId"], master["lessonId"]) == (COURSE, VIDEO)
    (loaded,) = events_of("load_video.json")  # Open edX's usual length of 0.0: loading, not a play
    assert isinstance(loaded, Rejection) and loaded.code == "player_loaded"
    (special_exam,) = events_of("edx.special_exam.timed.attempt.created.json")
    assert special_exam["eventType"] == "quiz_started"


@pytest.mark.e2e
def test_a_learner_who_passes_an_open_edx_course_is_completed_and_no_longer_at_risk(new_database, tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    write_snapshots(landing)
    url = new_database()
    with pipeline_environment(url, new_database(), home):
        env = bootstrap(landing)
        from analytics_pipeline.definitions import defs

        role = f"tenant_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            key = create_write_key(conn, "open edx").key
            ensure_role(conn, role)
            grant(conn, role, "org_a")
            token = create_token(conn, role).token
        learner = TOKENIZER.token(LEARNER)
        with web_server(landing, url) as base, local_instance() as instance:
            lrs = {"base": base, "key": key}
            for name in sorted(set(all_files()) - GRADE_FILES):
                assert post(lrs, fixture_statements(name)).status_code in (200, 409)
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))
            assert "inactive" in at_risk(url)[learner]  # active in 2020-2023, not since
            assert completion(url) == (2, 0)
            for name in sorted(GRADE_FILES):
                assert post(lrs, fixture_statements(name)).status_code == 200
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))
            assert completion(url) == (2, 1)
            risks = at_risk(url)
            assert learner not in risks and "never_started" in risks[TOKENIZER.token("u-never-started")]
            answer = get(base, "/api/admin/analytics?organization_id=org_a", token)
            assert answer.status_code == 200, answer.text
            (course,) = [row for row in answer.json()["courses"] if row["course_id"] == COURSE]
            assert (course["enrolled_learners"], course["completed_learners"]) == (2, 1)
            if chromium_binaries() is not None or os.environ.get("CI"):
                with chromium(window="1280,900", downloads=tmp_path / "downloads") as driver:
                    driver.get(base + "/login")
                    driver.find_element(By.ID, "token").send_keys(token + Keys.ENTER)
                    wait_loaded(driver, "org_a")
                    drawn = chart(driver, "completion-chart")
                    assert drawn["labels"] == ["Demonstration Course"] and drawn["data"][0] == [50]


def completion(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT enrolled_learners, completed_learners FROM marts.view_course_completion_rate"
            " WHERE org_id = 'org_a' AND course_id = %s",
            (COURSE,),
        ).fetchone()


def at_risk(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT user_token, reasons FROM marts.learners_at_risk").fetchall())
