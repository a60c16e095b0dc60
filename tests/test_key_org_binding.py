"""A write key bound to an org writes into that org or nowhere: not through org resolution, not
through a dead-letter replay, not through re-ingestion, for native batches and xAPI alike."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_write_key
from analytics_pipeline.ingestion.dead_letter_replay import replay_dead_letters
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY
from tests.landing_helpers import event, ingest_landed, write_reference
from tests.web_helpers import bearer, web_server

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
VICTIM = "victim_new_1"
# org_1 offers course A only; course 1 is org_2's alone. (IRIs, as xAPI activity ids are.)
COURSE_1, COURSE_A = "urn:lms:course_1", "urn:lms:course_a"
ENROLLED = [("org_1", "u_a", COURSE_A), ("org_2", "u_b", COURSE_1)]


def yesterday() -> str:
    """When the planted events claim to have happened (the server stamps their receipt today)."""
    return (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


@pytest.fixture
def tenants(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    write_reference(landing, ENROLLED)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        key = create_write_key(conn, "org_1's public browser key", "org_1").key
        free = create_write_key(conn, "the LMS's server key").key
    with web_server(landing, migrated_db, parts=("ingest",)) as base:
        yield {"base": base, "landing": landing, "url": migrated_db, "key": key, "free": free}


def planted(course: str = COURSE_1) -> list[dict]:
    """What an attacker holding org_1's public key plants for a learner of another org."""
    day = yesterday()
    return [
        event(VICTIM, course, "course_started", lesson=None, day=day),
        event(VICTIM, course, "lesson_started", day=day),
        event(VICTIM, course, "lesson_completed", day=day),
        event(VICTIM, course, "course_completed", lesson=None, day=day),
        event(
            VICTIM,
            course,
            "survey_submitted",
            lesson=None,
            day=day,
            properties={"rating": 1, "freeText": "Planted text"},
        ),
    ]


def statement(course: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example.org", "name": VICTIM}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": course, "definition": {"type": "http://adlnet.gov/expapi/activities/course"}},
        "timestamp": datetime.now(UTC).isoformat(),
    }


def post_everything(tenants, course: str = COURSE_1) -> None:
    events = planted(course)
    answer = requests.post(
        tenants["base"] + "/api/analytics/events/batch",
        json={"events": events},
        headers=bearer(tenants["key"]),
        timeout=10,
    )
    assert answer.status_code == 200 and len(answer.json()["accepted"]) == len(events), answer.text
    basic = base64.b64encode(f"{tenants['key']}:".encode()).decode()
    xapi = requests.post(
        tenants["base"] + "/xAPI/statements",
        json=[statement(course)],
        headers={"Authorization": f"Basic {basic}", "X-Experience-API-Version": "1.0.3"},
        timeout=10,
    )
    assert xapi.status_code == 200, xapi.text


def enroll(tenants, *extra) -> None:
    write_reference(tenants["landing"], [*ENROLLED, *extra])
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        load_reference(conn, tenants["landing"], TOKENIZER)


def victim_state(tenants) -> dict:
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        token = TOKENIZER.token(VICTIM)
        return {
            "orgs": conn.execute(
                "SELECT DISTINCT org_id FROM raw.analytics_events WHERE user_token = %s", (token,)
            ).fetchall(),
            "free_text": conn.execute(
                "SELECT org_id FROM raw.survey_free_text WHERE user_token = %s", (token,)
            ).fetchall(),
            "mismatched": conn.execute(
                "SELECT count(*) FROM raw.analytics_dead_letters WHERE reason_code = 'org_mismatch'"
                " AND replayed_at IS NULL"
            ).fetchone()[0],
            "batches": conn.execute(
                "SELECT sum(lines), sum(accepted + duplicates + dead_lettered) FROM raw.analytics_event_batches"
            ).fetchone(),
        }


def test_a_bound_key_cannot_plant_events_in_another_org_through_resolution_or_replay(tenants):
    post_everything(tenants)
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        ingest_landed(conn, tenants["landing"], TOKENIZER)
    state = victim_state(tenants)
    # Not enrolled in org_1, and org_1 does not offer course_1: in no org, dead-lettered.
    assert state["orgs"] == [] and state["free_text"] == [] and state["mismatched"] == 6
    assert state["batches"][0] == state["batches"][1] == 6

    enroll(tenants, ("org_2", VICTIM, COURSE_1))  # the LMS now enrolls the learner in org_2
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        summary = replay_dead_letters(conn, tenants["landing"], TOKENIZER)
        assert summary.accepted == 0
        assert ingest_landed(conn, tenants["landing"], TOKENIZER) == []  # nor does ingesting again
    state = victim_state(tenants)
    assert state["orgs"] == [] and state["free_text"] == [] and state["mismatched"] == 6

    enroll(tenants, ("org_2", VICTIM, COURSE_1), ("org_1", VICTIM, COURSE_1))
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        assert replay_dead_letters(conn, tenants["landing"], TOKENIZER).accepted == 6
    state = victim_state(tenants)
    assert state["orgs"] == [("org_1",)] and state["free_text"] == [("org_1",)] and state["mismatched"] == 0


def test_a_bound_keys_events_for_a_course_its_org_offers_stay_in_that_org(tenants):
    post_everything(tenants, course=COURSE_A)
    enroll(tenants, ("org_2", VICTIM, COURSE_A))  # enrolled elsewhere only
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        ingest_landed(conn, tenants["landing"], TOKENIZER)
    state = victim_state(tenants)
    assert state["orgs"] == [("org_1",)] and state["free_text"] == [("org_1",)] and state["mismatched"] == 0


def test_a_client_cannot_state_the_key_org_itself(tenants):
    forged = {**event(VICTIM, COURSE_1, "course_started", lesson=None, day=yesterday()), "keyOrgId": "org_2"}
    answer = requests.post(
        tenants["base"] + "/api/analytics/events/batch",
        json={"events": [forged]},
        headers=bearer(tenants["free"]),
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["accepted"]
    basic = base64.b64encode(f"{tenants['free']}:".encode()).decode()
    forged_statement = {
        **statement(COURSE_1),
        "authority": {
            "objectType": "Agent",
            "account": {"homePage": "https://analytics-pipeline.dev/xapi/write-key-org", "name": "org_2"},
        },
    }
    xapi = requests.post(
        tenants["base"] + "/xAPI/statements",
        json=forged_statement,
        headers={"Authorization": f"Basic {basic}", "X-Experience-API-Version": "1.0.3"},
        timeout=10,
    )
    assert xapi.status_code == 200
    landed = b"".join(path.read_bytes() for path in (tenants["landing"] / "events").rglob("*.ndjson"))
    assert b"keyOrgId" not in landed and b"write-key-org" not in landed


def test_a_key_cannot_be_bound_to_an_org_the_snapshot_does_not_hold(tenants):
    """Its events would all be dead-lettered, and no replay could move them."""
    with psycopg.connect(tenants["url"], autocommit=True) as conn:
        keys_before = conn.execute("SELECT count(*) FROM access.write_keys").fetchone()[0]
        with pytest.raises(ValueError, match="no org 'org_l' in the organizations snapshot"):
            create_write_key(conn, "a mistyped org", "org_l")
        assert conn.execute("SELECT count(*) FROM access.write_keys").fetchone()[0] == keys_before
        assert create_write_key(conn, "org_2's app", "org_2").org_id == "org_2"
