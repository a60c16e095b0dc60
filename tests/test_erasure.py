"""Erasure of a learner on request: `analytics-pipeline forget` after a real pipeline run leaves
marts equal to a clean run over the same files without that learner's events, nothing of the
learner anywhere, a tombstone that keeps re-landed and replayed events out, and an audit row
without the clear id; the admin API's DELETE is a platform admin's alone."""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from datetime import date

import pandas as pd
import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_token
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.demo.generator import generate, write_batch_lines
from analytics_pipeline.ingestion.pii import Tokenizer
from tests.conftest import TEST_PII_KEY, pipeline_environment, run_command
from tests.db_helpers import published_marts
from tests.web_helpers import bearer, web_server

END = date(2026, 3, 12)
TOKENIZER = Tokenizer(TEST_PII_KEY.encode())


def batch_files(landing):
    return sorted((landing / "events").rglob("*.ndjson*"))


def read_lines(path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).splitlines()


def user_of(line: bytes) -> str | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event.get("userId") if isinstance(event, dict) else None


def chosen_learner(landing) -> dict:
    """The learner with events in the most files, and one of their events: the most to erase."""
    files, events = {}, {}
    for path in batch_files(landing):
        for line in read_lines(path):
            if user := user_of(line):
                files.setdefault(user, set()).add(path)
                events.setdefault(user, json.loads(line))
    user = max(sorted(files), key=lambda learner: len(files[learner]))
    return events[user]


def without_learner(source, target, user: str) -> None:
    """The same landing zone with every line of `user` left out."""
    shutil.copytree(source, target)
    for path in batch_files(target):
        kept = [line.decode() for line in read_lines(path) if user_of(line) != user]
        if kept:
            write_batch_lines(path, kept, path.name.endswith(".gz"))
        else:
            path.unlink()


def pipeline(url: str, dagster_url: str, home, landing, *args: str) -> str:
    with pipeline_environment(url, dagster_url, home):
        done = run_command(*args, "--landing", str(landing))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def erased(new_database, tmp_path_factory):
    root = tmp_path_factory.mktemp("erasure")
    landing, clean = root / "landing", root / "clean"
    generate(landing, orgs=2, learners=60, days=4, seed=12, end_date=END)
    sample = chosen_learner(landing)
    user = sample["userId"]
    # A survey answer with free text, and a line that breaks the contract, whose dead
    # letter's excerpt names the learner.
    survey = {
        **{k: sample[k] for k in ("occurredAt", "receivedAt", "userId", "courseId", "orgId", "user") if k in sample},
        "clientEventId": str(uuid.uuid4()),
        "eventType": "survey_submitted",
        "properties": {"rating": 2, "freeText": "Too long for me."},
    }
    broken = {"clientEventId": str(uuid.uuid4()), "eventType": "survey_submitted", "userId": user}
    write_batch_lines(
        landing / "events" / f"received_date={sample['receivedAt'][:10]}" / "extra.ndjson",
        [json.dumps(survey), json.dumps(broken)],
        False,
    )
    without_learner(landing, clean, user)
    url, clean_url = new_database(), new_database()
    dagster_url, clean_dagster_url = new_database(), new_database()
    pipeline(clean_url, clean_dagster_url, root / "clean_home", clean, "run")
    pipeline(url, dagster_url, root / "home", landing, "run")
    with psycopg.connect(url) as conn:
        dead_before = conn.execute("SELECT count(*) FROM raw.analytics_dead_letters").fetchone()[0]
    # From another folder, with no landing zone named: erasure needs only the database.
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    with pipeline_environment(url, dagster_url, root / "home"):
        forgotten = run_command("forget", "--user", user, cwd=elsewhere)
    assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr
    output = forgotten.stdout
    return {
        "user": user,
        "token": TOKENIZER.token(user),
        "url": url,
        "dagster_url": dagster_url,
        "home": root / "home",
        "landing": landing,
        "clean_url": clean_url,
        "output": output,
        "dead_before": dead_before,
    }


def test_after_forget_the_marts_equal_a_clean_run_without_the_learner(erased):
    assert "erased the learner" in erased["output"]
    after, clean = published_marts(erased["url"]), published_marts(erased["clean_url"])
    for table, frame in clean.items():
        pd.testing.assert_frame_equal(after[table], frame, check_exact=False, rtol=1e-9, obj=table)


def test_nothing_of_the_learner_is_left_but_the_tombstone_and_the_audit(erased):
    token, user = erased["token"], erased["user"]
    with psycopg.connect(erased["url"]) as conn:
        # Tables, not views: the views over the LMS's enrollment snapshot list the learner
        # until the LMS drops them from it.
        holders = conn.execute(
            "SELECT c.table_schema, c.table_name FROM information_schema.columns AS c"
            " JOIN information_schema.tables AS t USING (table_schema, table_name)"
            " WHERE c.column_name = 'user_token' AND t.table_type = 'BASE TABLE'"
            " AND c.table_schema IN ('raw', 'core', 'intermediate', 'marts')"
            " AND c.table_name NOT IN ('erased_learners', 'enrollments')"
        ).fetchall()
        assert len(holders) > 10
        for schema, table in holders:
            if (schema, table) == ("marts", "learners_at_risk"):
                continue  # built from the enrollment snapshot: below
            found = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE user_token = %s', (token,))
            assert found.fetchone()[0] == 0, (schema, table)
        # Still enrolled until the LMS's next snapshot drops them, and without any activity.
        at_risk = conn.execute(
            "SELECT last_activity_at, lessons_completed FROM marts.learners_at_risk WHERE user_token = %s", (token,)
        ).fetchall()
        assert at_risk and all(row == (None, 0) for row in at_risk)
        for (excerpt,) in conn.execute("SELECT excerpt FROM raw.analytics_dead_letters"):
            assert f'"{user}"' not in excerpt
        assert conn.execute("SELECT count(*) FROM raw.analytics_dead_letters").fetchone()[0] == erased["dead_before"]
        assert conn.execute(load_sql("monitoring/batch_conservation")).fetchall() == []
        assert conn.execute(load_sql("monitoring/event_id_integrity")).fetchone() == (0, 0, 0)
        erased_events = conn.execute("SELECT sum(erased) FROM raw.analytics_event_batches").fetchone()[0]
        audit = conn.execute("SELECT user_token, org_id, requested_by, rows_removed FROM access.learner_erasures")
        ((audited, org, by, removed),) = audit.fetchall()
        assert audited == token and org is None and by.startswith("cli:")
        assert removed["raw.analytics_events"] == erased_events > 0
        assert removed["raw.survey_free_text"] > 0 and removed["raw.analytics_dead_letters (excerpts blanked)"] > 0
        audit_text = conn.execute("SELECT t::text FROM access.learner_erasures AS t").fetchone()[0]
        assert user not in audit_text
        assert conn.execute("SELECT user_token, org_id FROM raw.erased_learners").fetchall() == [(token, "")]


def test_the_tombstone_keeps_relanded_and_replayed_events_out(erased):
    day = END.isoformat()
    lines = [
        json.dumps(
            {
                "clientEventId": str(uuid.uuid4()),
                "eventType": "course_started",
                "occurredAt": f"{day}T09:00:00Z",
                "receivedAt": f"{day}T09:00:05Z",
                "userId": erased["user"],
                "courseId": "course_1",
            }
        )
        for _ in range(3)
    ]
    write_batch_lines(erased["landing"] / "events" / f"received_date={day}" / "again.ndjson", lines, False)
    before = published_marts(erased["url"])
    pipeline(erased["url"], erased["dagster_url"], erased["home"], erased["landing"], "run")
    pipeline(erased["url"], erased["dagster_url"], erased["home"], erased["landing"], "replay-dead-letters")
    with psycopg.connect(erased["url"]) as conn:
        stored = conn.execute("SELECT count(*) FROM raw.analytics_events WHERE user_token = %s", (erased["token"],))
        assert stored.fetchone()[0] == 0
        ledger = conn.execute(
            "SELECT lines, accepted, dead_lettered FROM raw.analytics_event_batches WHERE batch_id = 'again'"
        ).fetchone()
        assert ledger == (3, 0, 3)
        reasons = conn.execute(
            "SELECT DISTINCT reason_code, excerpt FROM raw.analytics_dead_letters WHERE batch_id = 'again'"
        ).fetchall()
        assert reasons == [("erased_learner", "")]
        assert conn.execute(load_sql("monitoring/batch_conservation")).fetchall() == []
    after = published_marts(erased["url"])
    for table, frame in before.items():
        pd.testing.assert_frame_equal(after[table], frame, obj=table)


def test_only_a_platform_admin_may_erase_through_the_api(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        tokens = {name: create_token(conn, roles[name]).token for name in ("tenant_a", "admin_a", "platform")}
    # A learner the shared run never saw: the erasure runs whole and changes no figure.
    victim = "u_api_erasure"
    with web_server(platform["landing"], platform["url"]) as base:
        path = f"{base}/api/admin/learners/{victim}"
        assert requests.delete(path, timeout=30).status_code == 401
        for name in ("tenant_a", "admin_a"):
            refused = requests.delete(path, headers=bearer(tokens[name]), timeout=30)
            assert refused.status_code == 403 and "platform-admin" in refused.json()["error"]
        too_long = requests.delete(
            f"{base}/api/admin/learners/{'x' * 201}", headers=bearer(tokens["platform"]), timeout=30
        )
        assert too_long.status_code == 400
        done = requests.delete(
            path, params={"organization_id": "org_3"}, headers=bearer(tokens["platform"]), timeout=30
        )
        assert done.status_code == 200, done.text
        assert done.json()["organization_id"] == "org_3" and done.json()["rows_removed"]["raw.analytics_events"] == 0
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        tombstone = conn.execute(
            "SELECT org_id FROM raw.erased_learners WHERE user_token = %s", (TOKENIZER.token(victim),)
        ).fetchall()
        assert tombstone == [("org_3",)]
        audit = conn.execute(
            "SELECT requested_by FROM access.learner_erasures WHERE user_token = %s", (TOKENIZER.token(victim),)
        ).fetchone()
        assert audit[0].startswith("token ")
        conn.execute("DELETE FROM raw.erased_learners WHERE user_token = %s", (TOKENIZER.token(victim),))
        conn.execute("DELETE FROM access.learner_erasures WHERE user_token = %s", (TOKENIZER.token(victim),))
