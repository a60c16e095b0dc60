"""xAPI statements in: statements shaped as Open edX's event-routing-backends emits them (from
the ADL video profile and Open edX's published statement documentation), posted to a real
server on loopback and ingested into a real PostgreSQL; the statements resource's answers;
and the mapping's identifier and learner rules."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import re
import uuid
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.demo.generator import generate
from analytics_pipeline.ingestion.contract import Rejection
from analytics_pipeline.ingestion.dead_letter_replay import replay_dead_letters
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.ingestion.xapi.identifiers import normalized_id
from analytics_pipeline.ingestion.xapi.mapping import (
    NOT_RECORDED,
    ORG_EXTENSION,
    RESULT_MAPPING,
    VERB_MAPPING,
    check_statement_line,
    learner_id,
    to_event,
)
from tests.conftest import PLATFORM_CORPUS, TEST_PII_KEY, run_pipeline_over
from tests.db_helpers import published_marts
from tests.landing_helpers import ingest_landed, write_reference
from tests.web_helpers import web_server

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
LMS = "https://courses.example.edu"
COURSE = "course-v1:edX+DemoX+Demo_Course"
VIDEO = "block-v1:edX+DemoX+Demo_Course+type@video+block@0b9e39477cf34507a7a48f74be381fdd"
PROBLEM = "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2e35c1d294b4ba0b3b1048615605d2a"
UNIT = "block-v1:edX+DemoX+Demo_Course+type@vertical+block@867dddb6f55d410caaa9c1eb9c6743ec"
ADL = "http://adlnet.gov/expapi/verbs/"
VIDEO_VERBS = "https://w3id.org/xapi/video/verbs/"
VIDEO_EXT = "https://w3id.org/xapi/video/extensions/"
LEARNER = "32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb"  # Open edX's anonymous external id
REGISTRATION = "4ee1a3a4-b8c6-4d67-b3e1-7d6a1e5bd0f9"
HEADERS = {"X-Experience-API-Version": "1.0.3"}


def course_activity(iri: str = f"{LMS}/course/{COURSE}") -> dict:
    return {
        "objectType": "Activity",
        "id": iri,
        "definition": {"type": "http://adlnet.gov/expapi/activities/course", "name": {"en-US": "Demonstration Course"}},
    }


def statement(verb: str, target: dict, *, result=None, extensions=None, parent=None, statement_id=None) -> dict:
    """A statement as event-routing-backends writes one: the learner's anonymous id as the
    account name, the enrollment's registration, the course as parent activity."""
    body = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": "Ada Lovelace",
            "account": {"homePage": LMS, "name": LEARNER},
        },
        "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[-1]}},
        "object": target,
        "context": {
            "registration": REGISTRATION,
            "contextActivities": {"parent": parent or [course_activity()]},
            "extensions": {
                "https://w3id.org/xapi/openedx/extension/transformer-version": "event-routing-backends@9.0.0",
                "https://w3id.org/xapi/openedx/extensions/session-id": "e4858858443cd99828209e7f3a1ae65f",
                **(extensions or {}),
            },
        },
        "timestamp": "2026-02-01T10:00:00.123456+00:00",
        "version": "1.0.3",
    }
    if result is not None:
        body["result"] = result
    return body


def video(verb: str, time, **kwargs) -> dict:
    target = {
        "objectType": "Activity",
        "id": f"{LMS}/xblock/{VIDEO}",
        "definition": {"type": "https://w3id.org/xapi/video/activity-type/video", "name": {"en-US": "Intro"}},
    }
    result = {"extensions": {VIDEO_EXT + ("time-to" if verb.endswith("seeked") else "time"): time}}
    return statement(verb, target, result=result, extensions={VIDEO_EXT + "length": 195.0}, **kwargs)


def problem_check(success: bool) -> dict:
    target = {
        "objectType": "Activity",
        "id": f"{LMS}/xblock/{PROBLEM}",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "name": {"en-US": "Checkboxes"},
        },
    }
    result = {"success": success, "score": {"scaled": float(success), "raw": int(success), "min": 0, "max": 1}}
    return statement("https://w3id.org/xapi/acrossx/verbs/evaluated", target, result={**result, "response": "b"})


def mapped(body: dict) -> dict:
    event = to_event(body)
    assert not isinstance(event, Rejection), event
    return event


def test_the_adl_video_profile_maps_to_video_events_with_positions_and_length():
    played = mapped(video(VIDEO_VERBS + "played", "PT0.032788S"))
    assert played["eventType"] == "video_played" and played["courseId"] == COURSE and played["lessonId"] == VIDEO
    assert played["properties"] == {"positionSeconds": pytest.approx(0.032788), "durationSeconds": 195.0}
    loaded = to_event(video(ADL + "initialized", None))  # the player loading, not a play
    assert isinstance(loaded, Rejection) and loaded.code == "player_loaded"
    assert mapped(video(VIDEO_VERBS + "paused", 61.5))["eventType"] == "video_paused"
    seeked = mapped(video(VIDEO_VERBS + "seeked", "PT1M30S"))
    assert seeked["eventType"] == "video_progress" and seeked["properties"]["positionSeconds"] == 90
    assert mapped(video(ADL + "completed", 195))["eventType"] == "video_completed"
    assert check_statement_line(json.dumps(video(VIDEO_VERBS + "played", "soon")).encode()).code == "invalid_value"


def test_problems_courses_units_and_pages_map_by_verb_and_activity_type():
    answered = mapped(problem_check(False))
    assert answered["eventType"] == "quiz_answered" and answered["lessonId"] == PROBLEM
    assert answered["properties"] == {
        "questionId": PROBLEM,
        "correct": False,
        "score": 0,
        "maxScore": 1,
        "scaledScore": 0.0,
    }
    completed = mapped(statement(ADL + "completed", course_activity(), parent=[]))
    assert (completed["eventType"], completed["courseId"]) == ("course_completed", COURSE)
    assert "lessonId" not in completed
    unit = {"objectType": "Activity", "id": f"{LMS}/xblock/{UNIT}"}  # no type: its block type says unit
    launched = mapped(statement(ADL + "launched", unit))
    assert (launched["eventType"], launched["lessonId"]) == ("lesson_started", UNIT)
    page = {"id": f"{LMS}/courses/{COURSE}/about", "definition": {"type": "http://activitystrea.ms/schema/1.0/page"}}
    viewed = mapped(statement(ADL + "experienced", page))
    assert viewed["eventType"] == "page_viewed" and "lessonId" not in viewed  # the course's own page
    quiz = {"id": f"{LMS}/quiz/7", "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"}}
    failed = mapped(statement(ADL + "failed", quiz, result={"score": {"raw": 3, "min": 0, "max": 10}}))
    assert failed["properties"] == {"score": 3, "maxScore": 10, "passed": False}
    assert failed["lessonId"] == f"{LMS}/quiz/7"  # not an Open edX key: the IRI whole


def test_enrollment_and_unknown_verbs_are_dead_lettered_with_their_reason():
    enrolled = to_event(statement(ADL + "registered", course_activity(), parent=[]))
    assert isinstance(enrolled, Rejection) and enrolled.code == "enrollment_statement"
    unknown = to_event(statement("http://id.tincanapi.com/verb/bookmarked", course_activity()))
    assert isinstance(unknown, Rejection) and unknown.code == "unmapped_verb"
    assert to_event(video(ADL + "answered", 3)).code == "unmapped_verb"  # a known verb on the wrong activity


@pytest.mark.parametrize(
    "iri",
    [
        f"{LMS}/courses/{COURSE}/",
        f"{LMS}/courses/{COURSE}/courseware/abc/def/",
        f"{LMS}/course/{COURSE}",
        COURSE,
    ],
)
def test_every_open_edx_form_of_a_course_iri_gives_one_course_id(iri):
    assert normalized_id(iri) == COURSE


@pytest.mark.parametrize(
    "iri",
    [
        f"{LMS}/xblock/{VIDEO}",
        f"{LMS}/xblock/{VIDEO}?child=0",
        "block-v1:course-v1:edX+DemoX+Demo_Course+type@video+block@0b9e39477cf34507a7a48f74be381fdd",
        f"{LMS}/xblock/block-v1%3AedX%2BDemoX%2BDemo_Course%2Btype%40video%2Bblock%400b9e39477cf34507a7a48f74be381fdd",
    ],
)
def test_every_open_edx_form_of_a_usage_key_gives_one_lesson_id(iri):
    assert normalized_id(iri) == VIDEO
    target = {"id": iri, "definition": {"type": "https://w3id.org/xapi/video/activity-type/video"}}
    played = mapped(
        statement(VIDEO_VERBS + "played", target, result={"extensions": {VIDEO_EXT + "time": 1}}, parent=[])
    )
    assert (played["courseId"], played["lessonId"]) == (COURSE, VIDEO)  # the course from the usage key itself


def test_other_iris_are_kept_whole_and_the_course_comes_from_the_context():
    assert normalized_id("https://moodle.example.org/mod/page/view.php?id=12") == (
        "https://moodle.example.org/mod/page/view.php?id=12"
    )
    moodle_course = {
        "id": "https://moodle.example.org/course/view.php?id=3",
        "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
    }
    page = {
        "id": "https://moodle.example.org/mod/page/view.php?id=12",
        "definition": {"type": "http://activitystrea.ms/schema/1.0/page"},
    }
    viewed = mapped(statement(ADL + "experienced", page, parent=[moodle_course]))
    assert viewed["courseId"] == moodle_course["id"] and viewed["lessonId"] == page["id"]


def test_the_learner_comes_from_account_openid_or_mailbox_and_both_mailbox_forms_agree():
    assert learner_id({"account": {"homePage": LMS, "name": "u-7"}}) == "u-7"
    assert learner_id({"openid": "https://id.example.org/people/ada/"}) == "ada"
    digest = hashlib.sha1(b"mailto:ada@example.org").hexdigest()
    by_mbox = learner_id({"mbox": "mailto:ada@example.org"})
    assert by_mbox == learner_id({"mbox_sha1sum": digest.upper()}) == f"sha1:{digest}"


# --- the statements resource on a real server ---------------------------------------------------


@pytest.fixture
def lrs(tmp_path, migrated_db, request):
    landing = tmp_path / "landing"
    write_reference(landing, [("org_a", LEARNER, COURSE), ("org_b", "u-other", COURSE)])
    with (landing / "reference" / "lessons.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesson_id", "course_id", "position", "title", "kind", "duration_seconds"])
        writer.writerows(
            [
                [UNIT, COURSE, 1, "Unit", "reading", ""],
                [VIDEO, COURSE, 2, "Intro", "video", 195],
                [PROBLEM, COURSE, 3, "Checkboxes", "quiz", ""],
            ]
        )
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        keys = {"any": create_write_key(conn, "open edx").key, "org_b": create_write_key(conn, "b", "org_b").key}
    strict = getattr(request, "param", False)  # ANALYTICS_XAPI_STRICT
    with web_server(landing, migrated_db, parts=("ingest",), xapi_strict=strict) as base:
        yield {"base": base, "landing": landing, "url": migrated_db, "keys": keys}


def basic(key: str) -> dict:
    # Open edX's LRS configuration sends the key as the Basic user name with an empty password.
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(), **HEADERS}


def post(lrs, body, key: str = "any", headers=None) -> requests.Response:
    return requests.post(
        lrs["base"] + "/xAPI/statements", json=body, headers=headers or basic(lrs["keys"][key]), timeout=10
    )


def landed_files(lrs) -> list:
    return sorted((lrs["landing"] / "events").rglob("*.xapi.ndjson"))


def ingest(lrs) -> None:
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        ingest_landed(conn, lrs["landing"], TOKENIZER)


def stored_events(lrs) -> list[tuple]:
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        return conn.execute(
            "SELECT client_event_id::text, event_type, course_id, lesson_id, org_id, properties"
            " FROM raw.analytics_events ORDER BY occurred_at, event_type"
        ).fetchall()


def test_open_edx_statements_land_and_ingest_as_mapped_events_without_personal_data(lrs):
    statements = [
        statement(ADL + "launched", {"objectType": "Activity", "id": f"{LMS}/xblock/{UNIT}"}),
        video(VIDEO_VERBS + "played", "PT12.5S"),
        video(VIDEO_VERBS + "paused", 64),
        problem_check(True),
        statement("http://id.tincanapi.com/verb/bookmarked", course_activity()),
    ]
    answer = post(lrs, statements)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [s["id"] for s in statements]
    assert answer.headers["X-Experience-API-Version"] == "1.0.3"
    assert len(landed_files(lrs)) == 1
    ingest(lrs)
    events = {row[0]: row[1:] for row in stored_events(lrs)}
    assert events[statements[0]["id"]][:4] == ("lesson_started", COURSE, UNIT, "org_a")
    assert events[statements[1]["id"]][:3] == ("video_played", COURSE, VIDEO)
    assert events[statements[1]["id"]][4] == {"positionSeconds": 12.5, "durationSeconds": 195.0}
    assert events[statements[2]["id"]][4]["positionSeconds"] == 64
    assert events[statements[3]["id"]][0] == "quiz_answered"
    assert events[statements[3]["id"]][4] == {
        "questionId": PROBLEM,
        "correct": True,
        "score": 1,
        "maxScore": 1,
        "scaledScore": 1.0,
    }
    assert statements[4]["id"] not in events
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        dead = conn.execute("SELECT reason_code, excerpt FROM raw.analytics_dead_letters").fetchall()
        assert [code for code, _ in dead] == ["unmapped_verb"]
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema IN ('raw', 'core') AND table_type = 'BASE TABLE'"
        ).fetchall()
        for (table,) in tables:
            for secret in ("Lovelace", LEARNER, REGISTRATION):
                found = conn.execute(f"SELECT count(*) FROM {table} AS t WHERE t::text LIKE %s", (f"%{secret}%",))
                assert found.fetchone()[0] == 0, (table, secret)


def test_a_repeated_statement_makes_one_event_and_a_changed_one_is_a_conflict(lrs):
    first = video(VIDEO_VERBS + "played", 3)
    assert post(lrs, first).status_code == 200
    again = post(lrs, first)
    assert again.status_code == 200 and again.json() == [first["id"]]
    assert len(landed_files(lrs)) == 1  # acknowledged, not landed twice
    changed = {**first, "result": {"extensions": {VIDEO_EXT + "time": 4}}}
    conflict = post(lrs, [video(VIDEO_VERBS + "paused", 9), changed])
    assert conflict.status_code == 409 and first["id"] in conflict.json()["error"]
    put = requests.put(
        lrs["base"] + "/xAPI/statements",
        params={"statementId": first["id"]},
        json=changed,
        headers=basic(lrs["keys"]["any"]),
        timeout=10,
    )
    assert put.status_code == 409
    assert len(landed_files(lrs)) == 1  # the conflicting request stored nothing, its other statement neither
    ingest(lrs)
    assert [row[0] for row in stored_events(lrs)] == [first["id"]]


@pytest.mark.parametrize("lrs", [True], indirect=True)
def test_in_strict_mode_an_invalid_statement_in_an_array_stores_nothing_and_is_named(lrs):
    good, bad = video(VIDEO_VERBS + "played", 1), video(VIDEO_VERBS + "paused", 2)
    del bad["actor"]["account"]
    answer = post(lrs, [good, bad])
    assert answer.status_code == 400 and "statement 1" in answer.json()["error"]
    assert "actor" in answer.json()["error"]
    assert landed_files(lrs) == []
    assert post(lrs, good).status_code == 200  # its id was not taken by the refused request
    for broken, where in (
        ({**good, "id": "not-a-uuid"}, "id"),
        ({**good, "verb": {"id": "played"}}, "verb.id"),
        ({**good, "timestamp": "yesterday"}, "timestamp"),
        ({**good, "colour": "red"}, "colour"),
        ({**good, "result": {"score": {"raw": 9, "min": 0, "max": 5}}}, "score.raw"),
    ):
        answer = post(lrs, broken)
        assert answer.status_code == 400 and where in answer.json()["error"], (where, answer.text)
    twice = post(lrs, [video(VIDEO_VERBS + "played", 5, statement_id=good["id"])] * 2)
    assert twice.status_code == 400
    group = problem_check(True)  # a deviation Open edX emits is not repaired in strict mode
    group["object"]["objectType"] = "GroupActivity"
    assert post(lrs, group).status_code == 400


def test_by_default_an_invalid_statement_is_dead_lettered_on_its_own_and_the_rest_lands(lrs):
    good, bad = video(VIDEO_VERBS + "played", 1), video(VIDEO_VERBS + "paused", 2)
    del bad["actor"]["account"]
    not_an_object, no_id = 7, video(VIDEO_VERBS + "paused", 3)
    del no_id["id"]
    answer = post(lrs, [good, bad, not_an_object, no_id, {**good, "id": "not-a-uuid"}])
    assert answer.status_code == 200, answer.text
    ids = answer.json()
    assert ids[:2] == [good["id"], bad["id"]] and all(uuid.UUID(i) for i in ids) and len(set(ids)) == 5
    assert len(landed_files(lrs)) == 1
    twice = post(lrs, [video(VIDEO_VERBS + "played", 5, statement_id=good["id"])] * 2)
    assert twice.status_code == 409  # the same id, another statement than the one stored
    ingest(lrs)
    assert {row[0] for row in stored_events(lrs)} == {good["id"], ids[3]}
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        dead = conn.execute("SELECT reason_code, reason FROM raw.analytics_dead_letters ORDER BY line_no").fetchall()
        batch = conn.execute("SELECT lines, accepted, duplicates, dead_lettered FROM raw.analytics_event_batches")
        assert batch.fetchone() == (5, 2, 0, 3)
    assert [code for code, _ in dead] == ["invalid_statement"] * 3
    assert "actor" in dead[0][1] and "id" in dead[2][1]


def test_the_statements_resource_answers_as_the_specification_says(lrs):
    base, auth = lrs["base"], basic(lrs["keys"]["any"])
    without_id = video(VIDEO_VERBS + "played", 7)
    del without_id["id"]
    assigned = post(lrs, without_id)
    assert assigned.status_code == 200 and uuid.UUID(assigned.json()[0])
    one = post(lrs, video(VIDEO_VERBS + "paused", 8))
    assert one.status_code == 200 and len(one.json()) == 1
    statement_id = str(uuid.uuid4())
    put = requests.put(
        base + "/xAPI/statements",
        params={"statementId": statement_id},
        json=video(ADL + "completed", 195, statement_id=statement_id),
        headers=auth,
        timeout=10,
    )
    assert put.status_code == 204 and put.content == b"" and put.headers["X-Experience-API-Version"] == "1.0.3"
    mismatched = requests.put(
        base + "/xAPI/statements",
        params={"statementId": str(uuid.uuid4())},
        json=video(ADL + "completed", 195),
        headers=auth,
        timeout=10,
    )
    assert mismatched.status_code == 400
    no_param = requests.put(base + "/xAPI/statements", json=video(ADL + "completed", 195), headers=auth, timeout=10)
    assert no_param.status_code == 400 and "statementId" in no_param.json()["error"]
    two = post(lrs, video(VIDEO_VERBS + "played", 1), headers={**auth, "X-Experience-API-Version": "2.0.0"})
    assert two.status_code == 200 and two.headers["X-Experience-API-Version"] == "2.0.0"
    for version in (None, "0.95", "3.0.0"):
        headers = {k: v for k, v in auth.items() if k != "X-Experience-API-Version"}
        if version:
            headers["X-Experience-API-Version"] = version
        answer = post(lrs, video(VIDEO_VERBS + "played", 1), headers=headers)
        assert answer.status_code == 400 and "X-Experience-API-Version" in answer.json()["error"]
    assert post(lrs, video(VIDEO_VERBS + "played", 1), headers=HEADERS).status_code == 401
    bearer = post(
        lrs, video(VIDEO_VERBS + "played", 1), headers={"Authorization": f"Bearer {lrs['keys']['any']}", **HEADERS}
    )
    assert bearer.status_code == 200
    as_text = requests.post(
        base + "/xAPI/statements", data=b"{}", headers={**auth, "Content-Type": "text/plain"}, timeout=10
    )
    assert as_text.status_code == 415
    assert (
        requests.post(
            base + "/xAPI/statements", data=b"{", headers={**auth, "Content-Type": "application/json"}, timeout=10
        ).status_code
        == 400
    )
    about = requests.get(base + "/xAPI/about", timeout=10)
    assert about.status_code == 200 and "1.0.3" in about.json()["version"]


def test_an_org_bound_key_lands_its_own_org_only(lrs):
    claims_a = video(VIDEO_VERBS + "played", 1)
    claims_a["context"]["extensions"][ORG_EXTENSION] = "org_a"
    refused = post(lrs, [video(VIDEO_VERBS + "paused", 2), claims_a], key="org_b")
    assert refused.status_code == 403 and "org_b" in refused.json()["error"]
    assert landed_files(lrs) == []
    # A learner of org_a, through org_b's key, in a course org_b offers: org_b's, not org_a's.
    of_a = video(VIDEO_VERBS + "played", 1)
    other = video(VIDEO_VERBS + "played", 1)
    other["actor"]["account"]["name"] = "u-other"
    assert post(lrs, [of_a, other], key="org_b").status_code == 200
    ingest(lrs)
    assert [row[4] for row in stored_events(lrs)] == ["org_b", "org_b"]


# --- the same activity, as statements or as native events, makes the same marts -----------------


def native_ids(value):
    """A demo corpus id in its native form: `course-v1:Demo+course_1+2026` is `course_1`, a
    usage key its block id, a question's block id (`<lesson>-q1`) the question id."""
    if not isinstance(value, str):
        return value
    value = re.sub(r"course-v1:Demo\+([^+]+)\+2026", r"\1", value)
    value = re.sub(r"block-v1:Demo\+[^+]+\+2026\+type@problem\+block@[^\s,;]+-(q\d+)", r"\1", value)
    return re.sub(r"block-v1:Demo\+[^+]+\+2026\+type@\w+\+block@([^\s,;]+)", r"\1", value)


def test_the_corpus_as_xapi_statements_makes_the_same_marts_as_native_events(platform, new_database, tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    summary = generate(landing, **PLATFORM_CORPUS, format="xapi")
    files = list((landing / "events").rglob("*.xapi.ndjson*"))
    assert summary.batch_files == len(files)
    written = "".join(
        (gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()).decode()
        for path in files
    )
    # What Open edX writes: passed grades, block completions, graded problems, multi-question
    # problems, the player loading before each play.
    for form in (ADL + "passed", ADL + "progressed", '"GroupActivity"', ADL + "initialized", '"scaled"'):
        assert form in written, form
    url = run_pipeline_over(landing, home, new_database)
    with psycopg.connect(url) as conn:
        course_ids = [row[0] for row in conn.execute("SELECT course_id FROM raw.courses")]
        loads = conn.execute("SELECT count(*) FROM raw.analytics_dead_letters WHERE reason_code = 'player_loaded'")
        assert loads.fetchone()[0] > 0
    assert course_ids and all(course.startswith("course-v1:Demo+") for course in course_ids)
    native, from_xapi = published_marts(platform["url"]), published_marts(url, native_ids)
    for table, frame in native.items():
        assert len(frame) > 0, table
        pd.testing.assert_frame_equal(from_xapi[table], frame, check_exact=False, rtol=1e-9, obj=table)


def test_the_documented_mapping_is_the_mapping_in_code():
    text = (Path(__file__).parents[1] / "docs" / "xapi.md").read_text().split("deliberately not recorded")[0]
    rows = re.findall(r"^\| `(\S+)` \| (\w+) \| `(\w+)` \|$", text, re.MULTILINE)
    assert {(verb, kind): event_type for verb, kind, event_type in rows} == VERB_MAPPING


def test_the_documented_result_rules_and_statements_not_recorded_are_those_in_code():
    text = (Path(__file__).parents[1] / "docs" / "xapi.md").read_text()
    rules = re.findall(r"^\| `(\S+)` \| (\w+) \| [^|]+ \| `(\w+)` \|$", text, re.MULTILINE)
    in_code = [(verb, kind, event_type) for (verb, kind), rows in RESULT_MAPPING.items() for _, event_type in rows]
    assert rules == in_code
    not_recorded = re.findall(r"^\| `(\S+)` \| (\w+) \| `(\w+)` \|$", text.split("deliberately not recorded")[1], re.M)
    assert {(verb, kind): code for verb, kind, code in not_recorded[: len(NOT_RECORDED)]} == {
        key: code for key, (code, _) in NOT_RECORDED.items()
    }


def test_an_unmapped_verb_is_replayed_once_the_mapping_covers_it(lrs, monkeypatch):
    bookmarked = "http://id.tincanapi.com/verb/bookmarked"
    page = {
        "id": f"{LMS}/courses/{COURSE}/bookmarks",
        "definition": {"type": "http://activitystrea.ms/schema/1.0/page"},
    }
    body = statement(bookmarked, page)
    assert post(lrs, body).status_code == 200
    ingest(lrs)
    assert stored_events(lrs) == []
    monkeypatch.setitem(VERB_MAPPING, (bookmarked, "page"), "page_viewed")
    with psycopg.connect(lrs["url"], autocommit=True) as conn:
        summary = replay_dead_letters(conn, lrs["landing"], TOKENIZER, reason="unmapped_verb")
        assert (summary.replayed, summary.accepted, summary.still_dead) == (1, 1, 0)
        batch = conn.execute("SELECT lines, accepted, dead_lettered FROM raw.analytics_event_batches").fetchone()
        assert batch == (1, 1, 0)
    assert [row[:2] for row in stored_events(lrs)] == [(body["id"], "page_viewed")]


@pytest.mark.parametrize(
    "body",
    [
        [],
        [1],
        "statement",
        None,
        {"actor": [], "verb": {"id": "x:y"}, "object": {"id": "x:y"}},
        {"id": 5},
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": 5}, "object": {"id": "x:y"}},
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:y"}, "object": {"objectType": "Nope"}},
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:y"}, "object": {"id": "x:y"}, "result": {"score": "9"}},
        {
            "actor": {"mbox": "mailto:a@b.c"},
            "verb": {"id": "x:y"},
            "object": {"id": "x:y"},
            "context": {"contextActivities": {"parent": "x"}, "extensions": {"not an iri": 1}},
        },
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:y"}, "object": {"id": "x:y"}, "timestamp": 12345},
        {"actor": {"objectType": "Group"}, "verb": {"id": "x:y"}, "object": {"id": "x:y"}},
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:y"}, "object": {"id": "x:" + "y" * 5000}},
        {
            "actor": {"account": {"homePage": "h:p", "name": ""}},
            "verb": {"id": ADL + "launched"},
            "object": {"id": COURSE},
        },
        video(VIDEO_VERBS + "played", {"seconds": 3}),
        video(VIDEO_VERBS + "played", "PT"),
        {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "x:y"}, "object": {"id": "x:\u0000y"}},
    ],
)
def test_nothing_a_client_posts_gets_a_500(lrs, body):
    answer = requests.post(
        lrs["base"] + "/xAPI/statements",
        data=json.dumps(body),
        headers={**basic(lrs["keys"]["any"]), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]
    ingest(lrs)  # what was stored is ingested or dead-lettered, never a crash
