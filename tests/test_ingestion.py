"""Ingestion against a real PostgreSQL: ledgers, dedupe, org resolution, dead letters."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.partition import ingest_partition, pending_batches
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from tests.conftest import TEST_PII_KEY
from tests.landing_helpers import event, write_batch, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
DAY1, DAY2 = "2026-02-01", "2026-02-02"


@pytest.fixture
def landing(tmp_path, conn) -> Path:
    # u1 in org_a only; u2 enrolled in c1 in two orgs; u3 in org_b only.
    write_reference(
        tmp_path, [("org_a", "u1", "c1"), ("org_a", "u2", "c1"), ("org_b", "u2", "c1"), ("org_b", "u3", "c1")]
    )
    load_reference(conn, tmp_path, TOKENIZER)
    return tmp_path


def ingest(conn, landing, day):
    return ingest_partition(conn, landing, day, TOKENIZER)


def scalar(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def test_duplicates_within_batch_across_batches_and_days_are_counted_once(conn, landing):
    e1, e2, e3 = event("u1", "c1"), event("u1", "c1", "lesson_completed"), event("u3", "c1", lesson=2)
    write_batch(landing, DAY1, [e1, e1, e2], name="a")  # retry inside the batch
    write_batch(landing, DAY1, [e2, e3], name="b")  # retry in a later batch
    write_batch(landing, DAY2, [e1, e3, event("u3", "c1", lesson=3, day=DAY2)], name="c")  # next day

    day1 = ingest(conn, landing, DAY1)
    day2 = ingest(conn, landing, DAY2)

    by_batch = {r.batch_id: r for r in day1 + day2}
    assert (by_batch["a"].accepted, by_batch["a"].duplicates) == (2, 1)
    assert (by_batch["b"].accepted, by_batch["b"].duplicates) == (1, 1)
    assert (by_batch["c"].accepted, by_batch["c"].duplicates) == (1, 2)
    assert scalar(conn, "SELECT count(*) FROM raw.analytics_events") == 4
    assert scalar(conn, "SELECT count(DISTINCT client_event_id) FROM raw.analytics_events") == 4
    assert scalar(conn, "SELECT count(*) FROM raw.analytics_event_ids") == 4


def test_every_line_is_accounted_for_per_batch(conn, landing):
    lines = [event("u1", "c1"), b'{"broken', event("u1", "c1", "teleported"), b"", event("u3", "c1")]
    write_batch(landing, DAY1, lines, name="mixed", gz=True)
    [result] = ingest(conn, landing, DAY1)
    assert (result.lines, result.accepted, result.duplicates, result.dead_lettered) == (5, 2, 0, 3)
    ledger = conn.execute(
        "SELECT lines, accepted, duplicates, dead_lettered FROM raw.analytics_event_batches WHERE batch_id = 'mixed'"
    ).fetchone()
    assert ledger == (5, 2, 0, 3)
    reasons = dict(conn.execute("SELECT line_no, reason_code FROM raw.analytics_dead_letters").fetchall())
    assert reasons == {2: "invalid_json", 3: "unknown_event_type", 4: "empty_line"}
    paths = {r[0] for r in conn.execute("SELECT landing_path FROM raw.analytics_dead_letters")}
    assert paths == {f"events/received_date={DAY1}/mixed.ndjson.gz"}


def test_reingesting_a_partition_adds_nothing(conn, landing):
    write_batch(landing, DAY1, [event("u1", "c1"), event("u3", "c1")])
    assert len(ingest(conn, landing, DAY1)) == 1
    snapshot = conn.execute("SELECT * FROM raw.analytics_events ORDER BY client_event_id").fetchall()
    assert pending_batches(conn, landing) == []
    assert ingest(conn, landing, DAY1) == []
    assert conn.execute("SELECT * FROM raw.analytics_events ORDER BY client_event_id").fetchall() == snapshot


def test_org_resolution_follows_the_contract(conn, landing):
    cases = {
        "claimed_and_enrolled": event("u2", "c1", org="org_b"),
        "claimed_not_enrolled_single": event("u1", "c1", org="org_b"),
        "no_claim_single": event("u3", "c1"),
        "no_claim_two_orgs": event("u2", "c1"),
        "not_enrolled": event("u9", "c1", org="org_a"),
    }
    write_batch(landing, DAY1, list(cases.values()))
    [result] = ingest(conn, landing, DAY1)
    orgs = dict(conn.execute("SELECT client_event_id::text, org_id FROM raw.analytics_events").fetchall())
    resolved = {name: orgs[e["clientEventId"]] for name, e in cases.items()}
    assert resolved == {
        "claimed_and_enrolled": "org_b",
        "claimed_not_enrolled_single": "org_a",
        "no_claim_single": "org_b",
        "no_claim_two_orgs": None,
        "not_enrolled": None,
    }
    assert result.unresolved_org == 2


def test_personal_data_is_tokenized_or_scrubbed(conn, landing):
    survey = event(
        "u1",
        "c1",
        "survey_submitted",
        lesson=None,
        properties={"rating": 4, "freeText": "Learner U1 here: mail u1@example.org, note to learner u1"},
    )
    write_batch(landing, DAY1, [survey, b'{"userId": "u1", "user": {"email": "u1@example.org", "name": "Learner U1"}'])
    ingest(conn, landing, DAY1)
    user_token = scalar(conn, "SELECT user_token FROM raw.analytics_events")
    assert user_token == TOKENIZER.token("u1")
    free_text = scalar(conn, "SELECT free_text FROM raw.survey_free_text")
    assert "example.org" not in free_text and "Learner U1" not in free_text and "[email:" in free_text
    assert "freeText" not in scalar(conn, "SELECT properties::text FROM raw.analytics_events")
    excerpt = scalar(conn, "SELECT excerpt FROM raw.analytics_dead_letters")
    assert "example.org" not in excerpt and "Learner U1" not in excerpt


def test_the_ledger_probe_finds_exactly_the_known_ids_by_the_key_whatever_the_group_size(conn):
    known = [uuid.uuid4().bytes for _ in range(5_000)]
    with (
        conn.cursor() as cur,
        cur.copy("COPY raw.analytics_event_ids (client_event_id, received_date, batch_id) FROM STDIN") as copy,
    ):
        for event_id in known:
            copy.write_row((uuid.UUID(bytes=event_id), DAY1, "old"))
    conn.execute("ANALYZE raw.analytics_event_ids")
    group = known[::2] + [uuid.uuid4().bytes for _ in range(20_000)]
    probe = load_sql("ingest/known_event_ids")
    assert {row[0] for row in conn.execute(probe, {"ids": b"".join(group)})} == set(known[::2])
    # A group far larger than the ledger still probes the key, id by id: no scan of the whole
    # ledger, whose cost would grow with the history instead of the new data.
    plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {probe}", {"ids": b"".join(group)}))
    assert "analytics_event_ids_pkey" in plan and "Seq Scan on analytics_event_ids" not in plan, plan


def test_a_bulk_ingest_leaves_the_planner_statistics_of_the_columns_models_read(conn, landing):
    """A new partition counts as empty to the planner until analyzed: ingestion analyzes the
    columns the models filter, join and group on, not the properties' JSON."""
    from analytics_pipeline.ingestion.partition import ANALYZE_AFTER_EVENTS

    write_batch(landing, DAY1, [event("u1", "c1", lesson=n % 7 + 1) for n in range(ANALYZE_AFTER_EVENTS)])
    [result] = ingest(conn, landing, DAY1)
    assert result.accepted == ANALYZE_AFTER_EVENTS
    analyzed = {
        row[0]
        for row in conn.execute(
            "SELECT attname FROM pg_stats WHERE schemaname = 'raw' AND tablename = 'analytics_events_20260201'"
        )
    }
    assert {"org_id", "user_token", "course_id", "lesson_id", "session_id", "event_type", "occurred_at"} <= analyzed
    assert "properties" not in analyzed


def test_a_snapshot_is_read_by_its_header_whatever_the_column_order(conn, tmp_path):
    """Columns are found by name (extra ones ignored, a short row's missing values empty,
    blank lines skipped); a snapshot without a required column is refused with its name."""
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    enrollments = tmp_path / "reference" / "enrollments.csv"
    enrollments.write_text(
        "course_id,note,user_id,org_id,assigned_at,due_at\n"
        "c1,x,u1,org_a,2026-01-01T00:00:00Z,\n"
        "\n"
        "c1,,u2,org_b,2026-01-02T00:00:00Z,2026-03-01T00:00:00Z\n"
        "c1,,u3,org_b,2026-01-03T00:00:00Z\n"
    )
    load_reference(conn, tmp_path, TOKENIZER)
    rows = conn.execute(
        "SELECT org_id, user_token, course_id, due_at IS NOT NULL FROM raw.enrollments ORDER BY org_id, assigned_at"
    ).fetchall()
    assert rows == [
        ("org_a", TOKENIZER.token("u1"), "c1", False),
        ("org_b", TOKENIZER.token("u2"), "c1", True),
        ("org_b", TOKENIZER.token("u3"), "c1", False),
    ]
    enrollments.write_text("org_id,user_id,assigned_at,due_at\norg_a,u1,,\n")
    with pytest.raises(ValueError, match=r"enrollments.csv: missing column\(s\) course_id"):
        load_reference(conn, tmp_path, TOKENIZER)


def test_a_spreadsheet_export_with_a_byte_order_mark_is_read_and_one_not_in_utf8_is_refused(conn, tmp_path):
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    organizations = tmp_path / "reference" / "organizations.csv"
    organizations.write_bytes(b"\xef\xbb\xbforg_id,name\r\norg_a,Caf\xc3\xa9 Academy\r\n")
    load_reference(conn, tmp_path, TOKENIZER)
    assert conn.execute("SELECT org_id, name FROM raw.organizations").fetchall() == [("org_a", "Café Academy")]
    organizations.write_bytes(b"org_id,name\norg_a,Caf\xe9 Academy\n")  # Latin-1
    with pytest.raises(ValueError, match=r"organizations\.csv: not UTF-8 text"):
        load_reference(conn, tmp_path, TOKENIZER)
