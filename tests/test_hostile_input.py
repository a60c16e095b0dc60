"""Hostile input: every line ends accepted, duplicate or dead-lettered with a precise reason;
an unreadable file is quarantined whole; nothing crashes; counts reconcile."""

from __future__ import annotations

import gzip
import json

import pytest

from analytics_pipeline.ingestion.partition import ingest_partition, pending_batches
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY
from tests.landing_helpers import event, write_batch, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
DAY = "2026-02-01"


def j(**changes) -> bytes:
    body = event("u1", "c1", **{k: v for k, v in changes.items() if k in ("lesson",)})
    body.update({k: v for k, v in changes.items() if k != "lesson"})
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


HOSTILE = [
    (b'{"clientEventId": "x", "eventType"', "invalid_json"),  # truncated
    (b"not json at all", "invalid_json"),
    (b"\xc3\x28\xa0\xa1 bytes", "invalid_json"),  # not UTF-8
    (b'{"a": "nul\x00byte"}', "invalid_encoding"),
    (j(userId="u1\u0000"), "invalid_encoding"),
    (j(eventType="video_teleported"), "unknown_event_type"),
    (j(courseId=None), "missing_field"),
    (j(userId=12345), "invalid_value"),  # wrong type
    (j(properties="a string"), "invalid_value"),
    (j(userId="x" * 1_000_000), "line_too_long"),  # 1 MB string
    (j(occurredAt="2999-01-01T00:00:00Z", receivedAt="2999-01-01T00:00:05Z"), "invalid_value"),
    (j(occurredAt="1970-01-01T00:00:00Z"), "invalid_value"),
    (j(eventType="video_progress", properties={"positionSeconds": 3000, "durationSeconds": 600}), "invalid_value"),
    (j(eventType="video_progress", properties={"positionSeconds": -5, "durationSeconds": 600}), "invalid_value"),
    (j(eventType="quiz_submitted", properties={"score": 11, "maxScore": 10, "passed": True}), "invalid_value"),
    (j(eventType="survey_submitted", lesson=None, properties={"rating": 500}), "invalid_value"),
    (b"", "empty_line"),
    (b"[]", "invalid_json"),
]
SURVIVORS = [  # hostile-looking but within the contract: stored safely as data
    j(orgId="org_a'; DROP TABLE raw.analytics_events; --"),
    j(sessionId='"},{"injected": true}'),
    j(eventType="page_viewed", lesson=None, properties={"big": 10**30}),  # past 64 bits: jsonb keeps it
]


@pytest.fixture
def landing(tmp_path, conn):
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    load_reference(conn, tmp_path, TOKENIZER)
    return tmp_path


def test_a_hostile_corpus_is_fully_accounted_for(conn, landing):
    lines = [line for line, _ in HOSTILE] + SURVIVORS
    write_batch(landing, DAY, lines, name="hostile")
    write_batch(landing, DAY, [b'{"user": "' + b"y" * 3_000_000 + b'"}'], name="one-huge-line")
    (landing / "events" / f"received_date={DAY}" / "empty.ndjson").write_bytes(b"")

    results = {r.batch_id: r for r in ingest_partition(conn, landing, DAY, TOKENIZER)}

    hostile = results["hostile"]
    assert (hostile.lines, hostile.accepted, hostile.dead_lettered) == (len(lines), len(SURVIVORS), len(HOSTILE))
    reasons = dict(
        conn.execute(
            "SELECT line_no, reason_code FROM raw.analytics_dead_letters WHERE batch_id = 'hostile'"
        ).fetchall()
    )
    assert reasons == {i + 1: code for i, (_, code) in enumerate(HOSTILE)}
    assert (results["one-huge-line"].lines, results["one-huge-line"].dead_lettered) == (1, 1)
    assert (results["empty"].lines, results["empty"].accepted) == (0, 0)
    assert (
        conn.execute("SELECT count(*) FROM raw.analytics_events WHERE claimed_org_id LIKE '%DROP TABLE%'").fetchone()[0]
        == 1
    )
    totals = conn.execute(
        "SELECT sum(lines), sum(accepted + duplicates + dead_lettered) FROM raw.analytics_event_batches"
    ).fetchone()
    assert totals[0] == totals[1] == len(lines) + 1
    excerpt = conn.execute(
        "SELECT excerpt FROM raw.analytics_dead_letters WHERE reason_code = 'line_too_long' LIMIT 1"
    ).fetchone()[0]
    assert len(excerpt) <= 200


def test_a_corrupt_gzip_is_quarantined_whole_and_not_retried(conn, landing):
    good = gzip.compress(b"\n".join([j(), j()]) + b"\n")
    folder = landing / "events" / f"received_date={DAY}"
    folder.mkdir(parents=True)
    (folder / "truncated.ndjson.gz").write_bytes(good[: len(good) // 2])
    (folder / "garbage.ndjson.gz").write_bytes(b"this is not gzip at all")
    write_batch(landing, DAY, [j()], name="fine")

    results = {r.batch_id: r for r in ingest_partition(conn, landing, DAY, TOKENIZER)}

    assert results["fine"].accepted == 1 and results["fine"].quarantined is None
    assert results["truncated"].quarantined and results["garbage"].quarantined
    quarantined = dict(conn.execute("SELECT batch_id, reason FROM raw.analytics_quarantined_files").fetchall())
    assert set(quarantined) == {"truncated", "garbage"}
    assert "gzip" in quarantined["garbage"].lower() or "Gzip" in quarantined["garbage"]
    # Nothing of the truncated file was stored, not even its readable first line.
    assert conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0] == 1
    assert pending_batches(conn, landing) == []
    assert ingest_partition(conn, landing, DAY, TOKENIZER) == []
