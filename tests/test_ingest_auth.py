"""The ingestion routes on a real server on loopback: write keys, org-bound keys, the
single-event route, browser clients (CORS, sendBeacon) and the per-key rate limit."""

from __future__ import annotations

import base64
import json
import resource
import signal

import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_write_key, revoke_write_key
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY
from tests.landing_helpers import event, write_reference
from tests.web_helpers import bearer, web_server

BATCH, SINGLE = "/api/analytics/events/batch", "/api/analytics/events"
ORIGIN = "https://lms.example.org"


@pytest.fixture
def ingest(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    # u1 learns c1 in org_a, u2 in org_b, u3 in both.
    write_reference(
        landing, [("org_a", "u1", "c1"), ("org_b", "u2", "c1"), ("org_a", "u3", "c1"), ("org_b", "u3", "c1")]
    )
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, Tokenizer(TEST_PII_KEY.encode()))
        keys = {"any": create_write_key(conn, "lms").key, "org_a": create_write_key(conn, "org a app", "org_a").key}
        revoked = create_write_key(conn, "old")
        revoke_write_key(conn, revoked.key_id)
    with web_server(landing, migrated_db, parts=("ingest",), cors_origins=(ORIGIN,)) as base:
        yield {"base": base, "landing": landing, "keys": keys, "revoked": revoked.key}


def landed_lines(landing) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((landing / "events").rglob("*.ndjson"))
        for line in path.read_bytes().splitlines()
    ]


def test_every_ingestion_route_needs_a_valid_write_key(ingest):
    base, batch = ingest["base"], {"events": [event("u1", "c1")]}
    for path, body in ((BATCH, batch), (SINGLE, batch["events"][0])):
        for headers in (
            {},
            bearer("apw_nope"),
            bearer(ingest["keys"]["any"][:-3] + "xyz"),
            bearer(ingest["revoked"]),
            {"Authorization": "Basic !!!"},
            {"Authorization": "Token abc"},
        ):
            answer = requests.post(base + path, json=body, headers=headers, timeout=10)
            assert answer.status_code == 401 and answer.json()["error"], (path, headers)
    assert (
        "revoked"
        in requests.post(base + BATCH, json=batch, headers=bearer(ingest["revoked"]), timeout=10).json()["error"]
    )
    assert not (ingest["landing"] / "events").exists()


def test_basic_credentials_and_the_single_event_route(ingest):
    base, key = ingest["base"], ingest["keys"]["any"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    one = event("u1", "c1")
    answer = requests.post(base + SINGLE, json=one, headers=basic, timeout=10)
    assert answer.status_code == 200 and answer.json() == {
        "accepted": [one["clientEventId"]],
        "duplicates": [],
        "failed": [],
    }
    assert requests.post(base + SINGLE, json=[one], headers=bearer(key), timeout=10).status_code == 400
    assert [line["clientEventId"] for line in landed_lines(ingest["landing"])] == [one["clientEventId"]]


def test_a_key_bound_to_an_org_lands_only_that_orgs_events(ingest):
    base, key = ingest["base"], ingest["keys"]["org_a"]
    claims_b = event("u2", "c1", org="org_b")
    learner_of_b = event("u2", "c1")
    of_a = event("u1", "c1")
    in_both = event("u3", "c1")
    unknown_learner = event("u9", "c1")
    answer = requests.post(
        base + BATCH,
        json={"events": [claims_b, learner_of_b, of_a, in_both, unknown_learner]},
        headers=bearer(key),
        timeout=10,
    ).json()
    # Claiming another org is refused; everything else is the key's org's, final (keyOrgId).
    assert [f["clientEventId"] for f in answer["failed"]] == [claims_b["clientEventId"]]
    assert answer["failed"][0]["reason"].startswith("org_not_allowed")
    assert answer["accepted"] == [e["clientEventId"] for e in (learner_of_b, of_a, in_both, unknown_learner)]
    assert {(line["orgId"], line["keyOrgId"]) for line in landed_lines(ingest["landing"])} == {("org_a", "org_a")}
    # The unbound key lands the other org's events as they are.
    free = requests.post(
        base + BATCH,
        json={"events": [event("u2", "c1", org="org_b")]},
        headers=bearer(ingest["keys"]["any"]),
        timeout=10,
    ).json()
    assert len(free["accepted"]) == 1


def test_browser_clients_cors_and_beacons(ingest):
    base, key = ingest["base"], ingest["keys"]["any"]
    preflight = requests.options(
        base + BATCH,
        timeout=10,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ORIGIN
    elsewhere = requests.options(
        base + BATCH, timeout=10, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in elsewhere.headers
    beacon = event("u1", "c1")
    sent = requests.post(
        f"{base}{BATCH}?key={key}",
        data=json.dumps({"events": [beacon]}),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN},
        timeout=10,
    )
    assert sent.status_code == 200 and sent.json()["accepted"] == [beacon["clientEventId"]]
    assert sent.headers["access-control-allow-origin"] == ORIGIN
    # A key in the query is for beacons only: a JSON post must send it in a header.
    json_post = requests.post(f"{base}{BATCH}?key={key}", json={"events": [event("u1", "c1")]}, timeout=10)
    assert json_post.status_code == 401


def test_the_rate_limit_answers_429_with_retry_after(tmp_path, migrated_db):
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        key = create_write_key(conn, "chatty").key
    with web_server(tmp_path / "landing", migrated_db, parts=("ingest",), write_key_rate=1.0) as base:
        answers = [requests.post(base + BATCH, json={"events": []}, headers=bearer(key), timeout=10) for _ in range(5)]
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses
    limited = answers[statuses.index(429)]
    assert int(limited.headers["Retry-After"]) >= 1 and "rate limit" in limited.json()["error"]


def test_one_keys_rate_is_shared_by_the_native_xapi_and_caliper_routes(tmp_path, migrated_db):
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        key = create_write_key(conn, "chatty").key
    with web_server(tmp_path / "landing", migrated_db, parts=("ingest",), write_key_rate=0.2) as base:
        native = [requests.post(base + BATCH, json={"events": []}, headers=bearer(key), timeout=10) for _ in range(2)]
        xapi = requests.post(
            base + "/xAPI/statements",
            json=[],
            headers={**bearer(key), "X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )
        caliper = requests.post(
            base + "/caliper", json={"type": "Event", "action": "x"}, headers=bearer(key), timeout=10
        )
    # The burst (twice the rate, at least one) is spent on the native route: none left for the others.
    assert [a.status_code for a in native] == [200, 429] and xapi.status_code == caliper.status_code == 429


def test_a_landing_zone_that_cannot_be_written_is_503_not_an_acknowledgement(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "events").write_text("a file where the events folder should be")
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        key = create_write_key(conn, "lms").key
    with web_server(landing, migrated_db, parts=("ingest",)) as base:
        answer = requests.post(base + BATCH, json={"events": [event("u1", "c1")]}, headers=bearer(key), timeout=10)
    assert answer.status_code == 503 and answer.headers["Retry-After"] and "could not persist" in answer.json()["error"]


def test_a_landing_disk_that_fills_up_is_503_and_leaves_no_partial_file(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    landing.mkdir()
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        key = create_write_key(conn, "lms").key
    batch = {"events": [event("u1", "c1") for _ in range(50)]}  # some 20 KB as a file
    with web_server(landing, migrated_db, parts=("ingest",)) as base:
        # The disk fills up: no file of this process may grow past 4 KiB (the write fails with
        # EFBIG instead of the signal's default, which would end the process).
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
        try:
            full = requests.post(base + BATCH, json=batch, headers=bearer(key), timeout=10)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, previous)
        landed_while_full = sorted(p.name for p in landing.rglob("*") if p.is_file())
        retried = requests.post(base + BATCH, json=batch, headers=bearer(key), timeout=10)
    assert full.status_code == 503 and full.headers["Retry-After"] and "could not persist" in full.json()["error"]
    assert landed_while_full == []  # nothing half-written left to fill the disk or be ingested
    assert retried.status_code == 200 and len(retried.json()["accepted"]) == 50
    assert len([p for p in landing.rglob("*.ndjson*") if p.is_file()]) == 1
