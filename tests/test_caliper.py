"""Caliper in: real Caliper events nobody here wrote (Open edX event-routing-backends' Caliper
transformer output, the Caliper specification's own examples) mapped as docs/caliper.md says,
posted to a real server on loopback and ingested into a real PostgreSQL; the envelope's
semantics; and the demo corpus as Caliper making the same marts as native events."""

from __future__ import annotations

import copy
import csv
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
from analytics_pipeline.ingestion.caliper.envelope import events_in
from analytics_pipeline.ingestion.caliper.mapping import EVENT_MAPPING, ORG_EXTENSION, PRODUCER_RULES, to_event
from analytics_pipeline.ingestion.contract import Rejection
from analytics_pipeline.ingestion.dead_letter_replay import replay_dead_letters
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.ingestion.xapi.mapping import read_statement
from analytics_pipeline.ingestion.xapi.mapping import to_event as xapi_event
from tests.conftest import PLATFORM_CORPUS, TEST_PII_KEY, run_pipeline_over
from tests.db_helpers import published_marts
from tests.landing_helpers import ingest_landed, write_reference
from tests.web_helpers import bearer, web_server

FIXTURES = Path(__file__).parent / "fixtures"
OPENEDX, SPEC = FIXTURES / "caliper" / "openedx", FIXTURES / "caliper" / "spec"
TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
COURSE = "course-v1:edX+DemoX+Demo_Course"
VIDEO = "block-v1:edX+DemoX+Demo_Course+type@video+block@0b9e39477cf34507a7a48f74be381fdd"
PROBLEM = "block-v1:edX+DemoX+Demo_Course+type@problem+block@3fc5461f86764ad7bdbdf6cbdde61e66"
OPENEDX_LEARNER = "32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb"  # every Open edX fixture's anonymous id
SPEC_LEARNER = "https://example.edu/users/554433"
SPEC_SECTION = "https://example.edu/terms/201801/courses/7/sections/1"
SPEC_COURSE = "https://example.edu/terms/201801/courses/7"  # the offering a section is part of

# What each event of each file becomes, in order, as docs/caliper.md says: an event type or a
# dead letter's reason code. Written from the documented rules, not read back from the code.
UNMAPPED, NOT_A_PAGE = "dead:unmapped_event", "dead:not_a_page"
EXPECTED = {
    "openedx/complete_video": ["video_completed"],
    **{
        f"openedx/edx.course.enrollment.{name}": ["dead:enrollment_event"]
        for name in ("activated.enterprise", "activated", "activated.required.only.data", "deactivated")
    },
    "openedx/edx.course.grade.passed.first_time": ["course_completed"],
    "openedx/edx.grades.problem.submitted": ["dead:unscored_submission"],
    "openedx/edx.problem.completed(proposed)": ["quiz_answered"],
    "openedx/edx.problem.hint.demandhint_displayed": [NOT_A_PAGE],  # an Annotation viewed
    "openedx/edx.ui.lms.link_clicked(anonymous_user)": ["lesson_started"],  # a sequential: a unit
    "openedx/edx.ui.lms.link_clicked": ["lesson_started"],
    "openedx/edx.ui.lms.link_clicked.required.only.data": ["lesson_started"],
    "openedx/edx.ui.lms.outline.selected": ["lesson_started"],
    "openedx/edx.ui.lms.sequence.next_selected": ["lesson_started"],
    "openedx/edx.ui.lms.sequence.previous_selected": ["lesson_started"],
    "openedx/edx.ui.lms.sequence.tab_selected": ["lesson_started"],
    "openedx/edx.video.closed_captions.hidden": [UNMAPPED],
    "openedx/edx.video.closed_captions.shown": [UNMAPPED],
    "openedx/hide_transcript": [UNMAPPED],
    "openedx/load_video": ["dead:player_loaded"],
    "openedx/pause_video": ["video_paused"],
    "openedx/play_video": ["video_played"],
    "openedx/play_video.required.only.data": ["video_played"],
    "openedx/postion_changed_video": ["video_progress"],
    "openedx/problem_check(browser)": ["dead:unscored_submission"],
    "openedx/problem_check(browser).required.only.data": ["dead:unscored_submission"],
    "openedx/problem_check(browser)legacy": ["dead:unscored_submission"],
    "openedx/problem_check(server)": ["quiz_submitted"],
    "openedx/seek_video": ["video_progress"],
    "openedx/show_transcript": [UNMAPPED],
    "openedx/showanswer": [NOT_A_PAGE],
    "openedx/speed_change_video": [UNMAPPED],
    "openedx/stop_video": ["video_paused"],  # stopped at 194 s of 195: not at the end
    "openedx/video_hide_cc_menu": [UNMAPPED],
    "openedx/video_show_cc_menu": [UNMAPPED],
    "spec/AnnotationEvent.Bookmarked": [UNMAPPED],
    "spec/AssessmentEvent.Started": ["quiz_started"],
    "spec/AssessmentItemEvent.Completed": ["quiz_answered"],
    "spec/AssignableEvent.Activated": [UNMAPPED],
    "spec/Event.Created": [UNMAPPED],
    "spec/Event.Searched": [UNMAPPED],
    "spec/ForumEvent.Subscribed": [UNMAPPED],
    "spec/GradeEvent.Graded": ["quiz_submitted"],
    "spec/MediaEvent.Paused": ["video_paused"],
    "spec/MessageEvent.Posted": [UNMAPPED],
    "spec/MessageEvent.Posted.2": [UNMAPPED],
    "spec/MessageEvent.Posted.3": [UNMAPPED],
    "spec/NavigationEvent.NavigatedTo": ["page_viewed"],
    "spec/SessionEvent.LoggedIn": [UNMAPPED],
    "spec/SessionEvent.LoggedOut": [UNMAPPED],
    "spec/SessionEvent.TimedOut": [UNMAPPED],
    "spec/ThreadEvent.MarkedAsRead": [UNMAPPED],
    "spec/ToolUseEvent.Used": [UNMAPPED],
    "spec/ViewEvent.Viewed": ["page_viewed"],
    "spec/envelope.1": [UNMAPPED],  # a ToolUseEvent
    "spec/envelope.7": ["quiz_started", "quiz_submitted", "quiz_submitted"],  # started, submitted, graded
}


def fixture(name: str):
    return json.loads((FIXTURES / "caliper" / f"{name}.json").read_text())


def outcome(result) -> str:
    return f"dead:{result.code}" if isinstance(result, Rejection) else result["eventType"]


def mapped(name: str) -> list:
    return [to_event(event) for event in events_in(fixture(name))]


def test_every_real_caliper_event_is_an_event_of_the_contract_or_a_specific_dead_letter():
    on_disk = {f"{path.parent.name}/{path.stem}" for path in (FIXTURES / "caliper").glob("*/*.json")}
    assert on_disk == set(EXPECTED)  # every fixture is judged, none is skipped
    for name, expected in EXPECTED.items():
        assert [outcome(result) for result in mapped(name)] == expected, name


def test_video_events_have_their_positions_lengths_and_ids():
    (play,) = mapped("openedx/play_video")
    assert (play["userId"], play["courseId"], play["lessonId"]) == (OPENEDX_LEARNER, COURSE, VIDEO)
    assert play["properties"] == {"positionSeconds": 0.032788, "durationSeconds": 195.0}
    assert play["sessionId"].endswith("993110e9c27848a545da74a74114158d")
    (seek,) = mapped("openedx/seek_video")
    assert seek["properties"]["positionSeconds"] == 10.0  # where the jump landed (newTime)
    (stop,) = mapped("openedx/stop_video")
    assert stop["properties"] == {"positionSeconds": 194.0, "durationSeconds": 195.0}
    (complete,) = mapped("openedx/complete_video")
    assert complete["properties"] == {"positionSeconds": 195.0, "durationSeconds": 195.0}
    (paused,) = mapped("spec/MediaEvent.Paused")
    assert paused["properties"] == {"positionSeconds": 321.0, "durationSeconds": 1220.0}
    assert (paused["userId"], paused["courseId"]) == (SPEC_LEARNER, SPEC_SECTION)


def test_grades_belong_to_the_assignee_and_carry_the_score():
    (graded,) = mapped("spec/GradeEvent.Graded")
    assert fixture("spec/GradeEvent.Graded")["actor"]["id"] == "https://example.edu/autograder"
    assert graded["userId"] == SPEC_LEARNER
    assert graded["lessonId"] == "https://example.edu/terms/201801/courses/7/sections/1/assess/1"
    attempt = "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1"
    assert graded["properties"] == {"score": 10.0, "maxScore": 15.0, "gradeOf": attempt}
    started, submitted, grade = mapped("spec/envelope.7")
    assert submitted["properties"] == {"attemptId": attempt}
    assert grade["properties"]["gradeOf"] == attempt and "sessionId" not in grade
    assert {started["courseId"], submitted["courseId"], grade["courseId"]} == {SPEC_COURSE}
    (openedx,) = mapped("openedx/problem_check(server)")
    assert (openedx["userId"], openedx["lessonId"]) == (OPENEDX_LEARNER, PROBLEM)
    assert openedx["properties"]["score"] == 0 and openedx["properties"]["maxScore"] == 1
    assert openedx["properties"]["passed"] is False and "gradeOf" not in openedx["properties"]


def test_an_answer_without_correctness_is_an_answer_of_its_item():
    (answer,) = mapped("spec/AssessmentItemEvent.Completed")
    assert answer["properties"] == {
        "questionId": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/items/3"
    }
    assert answer["lessonId"] == "https://example.edu/terms/201801/courses/7/sections/1/assess/1"


@pytest.mark.parametrize(
    ("person", "learner"),
    [
        ({"id": "urn:instructure:canvas:user:21070000000000001", "type": "Person"}, "21070000000000001"),
        ("http://localhost:18000/user/32e08e30-f8ae-4ce2-94a8-c2bfe38a70cb", OPENEDX_LEARNER),
        (
            {
                "id": "https://tool.example.org/people/9",
                "type": "Person",
                "otherIdentifiers": [
                    {"type": "SystemIdentifier", "identifierType": "SisSourcedId", "identifier": "S-1"},
                    {"type": "SystemIdentifier", "identifierType": "LtiUserId", "identifier": "lti-77"},
                ],
            },
            "lti-77",
        ),
        ({"id": SPEC_LEARNER, "type": "Person"}, SPEC_LEARNER),
    ],
)
def test_the_learner_id_is_normalized_per_producer(person, learner):
    event = {**fixture("spec/NavigationEvent.NavigatedTo"), "actor": person}
    assert to_event(event)["userId"] == learner


def test_canvas_courses_and_sections_name_the_offering_and_a_home_page_is_in_no_lesson():
    event = fixture("spec/ViewEvent.Viewed")
    event["group"] = {
        "id": "urn:instructure:canvas:course:21070000000000056:section:3",
        "type": "CourseSection",
        "subOrganizationOf": {"id": "urn:instructure:canvas:course:21070000000000056", "type": "CourseOffering"},
    }
    assert to_event(event)["courseId"] == "21070000000000056"
    event["object"] = {"id": "urn:instructure:canvas:course:21070000000000056", "type": "WebPage"}
    viewed = to_event(event)
    assert viewed["eventType"] == "page_viewed" and "lessonId" not in viewed


def test_an_event_the_platform_does_not_model_is_unmapped_before_anything_is_missing():
    bare = {"type": "SessionEvent", "action": "LoggedIn"}  # no id, actor, object or time
    assert to_event(bare).code == "unmapped_event"
    paused = {key: value for key, value in fixture("spec/MediaEvent.Paused").items() if key != "actor"}
    assert (to_event(paused).code, to_event({**paused, "object": None}).code) == ("missing_field", "missing_field")


def test_dead_letter_excerpts_leave_out_what_identifies_a_person():
    from analytics_pipeline.ingestion.pii import redact_excerpt

    canvas = {
        "actor": {
            "id": "urn:instructure:canvas:user:21070000000000001",
            "type": "Person",
            "extensions": {"com.instructure.canvas": {"user_login": "ada@example.edu", "user_sis_id": "SIS-9"}},
        },
        "object": {"id": "https://lms.example.org/quizzes/1/users/554433/attempts/2", "type": "Attempt"},
        "name": "Ada Lovelace",
    }
    excerpt = redact_excerpt(json.dumps(canvas).encode(), limit=1000)
    for secret in ("21070000000000001", "ada@example.edu", "SIS-9", "554433", "Lovelace"):
        assert secret not in excerpt, excerpt
    assert "quizzes/1/users/[redacted]/attempts/2" in excerpt


def platform_event(result) -> tuple:
    """What counts of an event, whichever route brought it: its type, course, lesson, position
    (to the millisecond Open edX's xAPI rounds to) and score, or that it is a dead letter."""
    if isinstance(result, Rejection):
        return ("dead",)
    properties = result["properties"]
    position = properties.get("positionSeconds")
    return (
        result["eventType"],
        result["userId"],
        result["courseId"],
        result.get("lessonId"),
        None if position is None else round(position, 3),
        properties.get("score"),
        properties.get("maxScore"),
        properties.get("passed"),
    )


def xapi_outcomes(name: str) -> list[tuple]:
    data = json.loads((FIXTURES / "openedx_xapi" / f"{name}.json").read_text())
    results = []
    for statement in data if isinstance(data, list) else [data]:
        checked = read_statement(statement)
        results.append(platform_event(checked if isinstance(checked, Rejection) else xapi_event(checked)))
    return results


# One learner action, as Open edX sends it both ways: the tracking-log events it stands for.
GRADED_PROBLEM = ("problem_check(browser)", "problem_check(server)", "edx.grades.problem.submitted")


def test_open_edx_sends_the_same_learner_action_the_same_whichever_way():
    both = sorted(p.stem for p in OPENEDX.glob("*.json") if (FIXTURES / "openedx_xapi" / p.name).exists())
    assert len(both) > 25
    for name in both:
        if name.startswith(("problem_check", "edx.grades.problem")):
            continue  # parts of a graded problem, compared as one action below
        assert [platform_event(r) for r in mapped(f"openedx/{name}")] == xapi_outcomes(name), name
    # A graded problem is one submission, with the same score and result, either way; Caliper's
    # check names no answers (docs/caliper.md, producer rules).
    caliper = [platform_event(r) for name in GRADED_PROBLEM for r in mapped(f"openedx/{name}")]
    xapi = [event for name in GRADED_PROBLEM for event in xapi_outcomes(name)]
    submissions = [[event for event in route if event[0] == "quiz_submitted"] for route in (caliper, xapi)]
    assert submissions[0] == submissions[1] and len(submissions[0]) == 1


def test_the_documented_mapping_and_producer_rules_are_those_in_code():
    text = (Path(__file__).parents[1] / "docs" / "caliper.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (\w+) \| `(\w+)` \|$", text, re.MULTILINE)
    assert {(kind, action, obj): event_type for kind, action, obj, event_type in rows} == EVENT_MAPPING
    rules = re.findall(r"^\| `(\w+)` \| `(\w+)` \| [^|]+ \| [^|]+ \|$", text.split("### Producer rules")[1], re.M)
    assert rules == [(kind, action) for (_, kind, action) in PRODUCER_RULES]


# --- posted to the web app, ingested -------------------------------------------------------------


@pytest.fixture
def sensor(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    write_reference(
        landing,
        [
            ("org_a", OPENEDX_LEARNER, COURSE),
            ("org_a", SPEC_LEARNER, SPEC_COURSE),
            ("org_a", SPEC_LEARNER, SPEC_SECTION),
            ("org_b", "u-other", COURSE),
        ],
    )
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        keys = {"any": create_write_key(conn, "lms").key, "org_b": create_write_key(conn, "b", "org_b").key}
    with web_server(landing, migrated_db, parts=("ingest",)) as base:
        yield {"base": base, "landing": landing, "url": migrated_db, "keys": keys}


def envelope(*events) -> dict:
    return {
        "sensor": "https://lms.example.org/sensors/1",
        "sendTime": "2026-12-06T10:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": list(events),
    }


def post(sensor, body, key: str = "any", **kwargs) -> requests.Response:
    return requests.post(
        sensor["base"] + "/caliper", json=body, headers=bearer(sensor["keys"][key]), timeout=10, **kwargs
    )


def ingest(sensor) -> None:
    with psycopg.connect(sensor["url"], autocommit=True) as conn:
        ingest_landed(conn, sensor["landing"], TOKENIZER)


def stored(sensor, sql: str) -> list[tuple]:
    with psycopg.connect(sensor["url"], autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def landed_files(sensor) -> list[Path]:
    return sorted((sensor["landing"] / "events").rglob("*.caliper.ndjson"))


def own_ids(body: dict, name: str) -> dict:
    """The fixtures reuse a few event ids across files (variants of one event, one example
    given twice): each file's events get ids of their own."""
    if "data" in body:
        return {**body, "data": [own_ids(item, name) if "action" in item else item for item in body["data"]]}
    return {**body, "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name + body['id'])}"}


def test_real_caliper_posted_as_sensors_post_it_lands_and_ingests_without_personal_data(sensor):
    batches = []  # event-routing-backends' batching mode: an array of envelopes
    for name in sorted(name for name in EXPECTED if name.startswith("openedx/")):
        batches.append(envelope(own_ids(fixture(name), name)))
    answer = post(sensor, batches)
    assert answer.status_code == 200, answer.text
    openedx = [e for name in EXPECTED if name.startswith("openedx/") for e in EXPECTED[name]]
    assert answer.json() == {"landed": len(openedx), "duplicates": 0}
    spec = [name for name in EXPECTED if name.startswith("spec/")]
    for name in spec:  # envelopes as envelopes, bare events as bare events
        assert post(sensor, own_ids(fixture(name), name)).status_code == 200, name
    ingest(sensor)
    expected = [e for name in EXPECTED for e in EXPECTED[name]]
    events = stored(sensor, "SELECT event_type FROM raw.analytics_events")
    dead = stored(sensor, "SELECT reason_code, excerpt FROM raw.analytics_dead_letters")
    # Every event is stored or dead-lettered, as documented: none lost, none in another form.
    assert sorted(t for (t,) in events) == sorted(e for e in expected if not e.startswith("dead:"))
    assert sorted(f"dead:{code}" for code, _ in dead) == sorted(e for e in expected if e.startswith("dead:"))
    for _, excerpt in dead:
        for secret in (OPENEDX_LEARNER, "554433"):
            assert secret not in excerpt, excerpt
    tables = stored(
        sensor,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema IN ('raw', 'core') AND table_type = 'BASE TABLE'",
    )
    with psycopg.connect(sensor["url"], autocommit=True) as conn:
        for (table,) in tables:
            for secret in (OPENEDX_LEARNER, SPEC_LEARNER):
                found = conn.execute(f"SELECT count(*) FROM {table} AS t WHERE t::text LIKE %s", (f"%{secret}%",))
                assert found.fetchone()[0] == 0, (table, secret)


def test_an_envelope_sent_twice_makes_no_second_event_and_a_reused_id_is_counted(sensor):
    play = own_ids(fixture("openedx/play_video"), "twice")
    assert post(sensor, envelope(play)).json() == {"landed": 1, "duplicates": 0}
    assert post(sensor, envelope(play)).json() == {"landed": 0, "duplicates": 1}
    changed = copy.deepcopy(play)
    changed["target"]["currentTime"] = "PT9S"
    assert post(sensor, changed).json() == {"landed": 0, "duplicates": 1}  # a bare event, reusing the id
    assert post(sensor, envelope(changed, changed)).json() == {"landed": 0, "duplicates": 2}
    assert len(landed_files(sensor)) == 1
    metrics = requests.get(sensor["base"] + "/metrics", timeout=10).text
    assert "collector_event_ids_reused_total 2.0" in metrics  # the changed event, posted twice
    # The specification's examples give one grade twice, alone and in an envelope.
    assert post(sensor, fixture("spec/GradeEvent.Graded")).json() == {"landed": 1, "duplicates": 0}
    assert post(sensor, fixture("spec/envelope.7")).json() == {"landed": 2, "duplicates": 1}
    ingest(sensor)
    positions = stored(
        sensor, "SELECT properties ->> 'positionSeconds' FROM raw.analytics_events WHERE event_type = 'video_played'"
    )
    assert positions == [("0.032788",)]


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        [],
        [{"sensor": "s"}],
        {"sensor": "s", "sendTime": "t", "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p0", "data": []},
        {"sensor": "s", "sendTime": "t", "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": {}},
        {"sensor": "s", "data": []},
        [{"sensor": "", "sendTime": "", "dataVersion": {}, "data": []}],
        "Paused",
        0,
        {"actor": "x"},
    ],
)
def test_a_body_that_is_not_caliper_is_a_400_with_a_reason(sensor, body):
    answer = post(sensor, body)
    assert answer.status_code == 400 and answer.json()["error"], answer.text
    assert landed_files(sensor) == []


def test_too_many_events_or_too_large_a_body_is_a_413(sensor):
    many = envelope(*[own_ids(fixture("openedx/pause_video"), str(n)) for n in range(1001)])
    assert post(sensor, many).status_code == 413
    padded = {**fixture("openedx/pause_video"), "padding": "x" * (1024 * 1024)}
    assert post(sensor, padded).status_code == 413
    assert landed_files(sensor) == []


def test_the_endpoint_answers_credentials_and_content_types_as_the_other_routes(sensor):
    event = fixture("openedx/pause_video")
    assert requests.post(sensor["base"] + "/caliper", json=event, timeout=10).status_code == 401
    assert post(sensor, event).status_code == 200
    as_text = requests.post(
        sensor["base"] + "/caliper",
        data=json.dumps(event),
        headers={**bearer(sensor["keys"]["any"]), "Content-Type": "text/plain"},
        timeout=10,
    )
    assert as_text.status_code == 415


def test_an_org_bound_key_lands_its_own_org_only(sensor):
    claims_a = own_ids(fixture("openedx/play_video"), "claims a")
    claims_a["extensions"][ORG_EXTENSION] = "org_a"
    refused = post(sensor, envelope(own_ids(fixture("openedx/pause_video"), "p"), claims_a), key="org_b")
    assert refused.status_code == 403 and "org_b" in refused.json()["error"]
    assert landed_files(sensor) == []
    # A learner of org_a, through org_b's key, in a course org_b offers: org_b's, not org_a's.
    of_a = own_ids(fixture("openedx/play_video"), "of a")
    other = own_ids(fixture("openedx/play_video"), "other")
    other["actor"]["id"] = "http://localhost:18000/user/u-other"
    assert post(sensor, envelope(of_a, other), key="org_b").status_code == 200
    ingest(sensor)
    assert stored(sensor, "SELECT org_id FROM raw.analytics_events") == [("org_b",), ("org_b",)]


def test_an_unmapped_event_is_replayed_once_the_mapping_covers_it(sensor, monkeypatch):
    speed = own_ids(fixture("openedx/speed_change_video"), "speed")
    assert post(sensor, speed).status_code == 200
    ingest(sensor)
    assert stored(sensor, "SELECT count(*) FROM raw.analytics_events") == [(0,)]
    monkeypatch.setitem(EVENT_MAPPING, ("MediaEvent", "ChangedSpeed", "media"), "video_progress")
    with psycopg.connect(sensor["url"], autocommit=True) as conn:
        summary = replay_dead_letters(conn, sensor["landing"], TOKENIZER, reason="unmapped_event")
        assert (summary.replayed, summary.accepted, summary.still_dead) == (1, 1, 0)
    assert stored(sensor, "SELECT event_type FROM raw.analytics_events") == [("video_progress",)]


@pytest.mark.parametrize(
    "body",
    [
        [1],
        {"type": "MediaEvent", "action": "Paused"},
        {"type": "MediaEvent", "action": "Paused", "object": "x", "id": 5, "actor": [], "eventTime": 3},
        {"type": "MediaEvent", "action": "Paused", "object": {"type": "VideoObject", "id": "x", "duration": 5}},
        envelope(1, "x", None, {"type": 7, "action": []}),
        envelope({"type": "GradeEvent", "action": "Graded", "object": {"type": "Attempt", "id": "a"}}),
        {**fixture("openedx/play_video"), "extensions": [1], "eventTime": "yesterday"},
        {**fixture("openedx/play_video"), "target": {"currentTime": "PT"}, "id": "urn:uuid:not-a-uuid"},
        {**fixture("openedx/play_video"), "object": {"type": "VideoObject", "id": "x:\u0000y", "duration": "P"}},
    ],
)
def test_nothing_a_sensor_posts_gets_a_500(sensor, body):
    answer = post(sensor, body)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]
    ingest(sensor)  # what was landed is ingested or dead-lettered, never a crash
    batches = stored(
        sensor,
        "SELECT coalesce(sum(lines - accepted - duplicates - dead_lettered), 0) FROM raw.analytics_event_batches",
    )
    assert batches == [(0,)]


# --- the same activity, as Caliper or as native events, makes the same marts ---------------------


def native_ids(value):
    """A demo corpus id in its native form: a lesson's IRI is its id, a quiz item's its
    question id."""
    if not isinstance(value, str):
        return value
    value = re.sub(r"https://canvas\.example\.org/courses/[^/]+/\w+/([^/\s,;]+)/items/(q\d+)", r"\2", value)
    return re.sub(r"https://canvas\.example\.org/courses/[^/]+/\w+/([^/\s,;]+)", r"\1", value)


def test_the_corpus_as_caliper_events_makes_the_same_marts_as_native_events(platform, new_database, tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    summary = generate(landing, **PLATFORM_CORPUS, format="caliper")
    assert summary.batch_files == len(list((landing / "events").rglob("*.caliper.ndjson*")))
    with (landing / "reference" / "lessons.csv").open() as handle:
        assert all(row["lesson_id"].startswith("https://canvas.example.org/") for row in csv.DictReader(handle))
    url = run_pipeline_over(landing, home, new_database)
    with psycopg.connect(url) as conn:
        grades = conn.execute("SELECT count(*) FROM raw.analytics_events WHERE properties ? 'gradeOf'").fetchone()[0]
    assert grades > 0  # the submissions came with their grades, and still count once
    native, from_caliper = published_marts(platform["url"]), published_marts(url, native_ids)
    for table, frame in native.items():
        assert len(frame) > 0, table
        pd.testing.assert_frame_equal(from_caliper[table], frame, check_exact=False, rtol=1e-9, obj=table)
