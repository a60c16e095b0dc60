"""The learner directory: who the learners at risk are, for org admins only. Names and e-mails
come from the LMS's learners snapshot (and events' `user` objects), sealed at rest, read only
by an org admin of an org the learner is enrolled in, every read audited, erased with the
learner for good."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.exceptions import InvalidTag
from psycopg import sql

from analytics_pipeline.access.credentials import create_token
from analytics_pipeline.access.grants import ensure_role, grant
from analytics_pipeline.ingestion.learner_directory import learners_snapshot
from analytics_pipeline.ingestion.pii import Sealer, Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.lifecycle.erasure import forget_learner
from tests.conftest import TEST_DIRECTORY_KEY, TEST_PII_KEY
from tests.landing_helpers import write_reference
from tests.web_helpers import bearer, web_server

TOKENIZER = Tokenizer(TEST_PII_KEY.encode(), Sealer(TEST_DIRECTORY_KEY.encode()))
ORG = "org_1"


def snapshot_learners(landing: Path) -> dict[str, dict]:
    """The learners snapshot the LMS wrote, by the learner's token."""
    with learners_snapshot(landing).open(newline="") as handle:
        return {TOKENIZER.token(row["user_id"]): row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def directory(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        tokens = {name: create_token(conn, role).token for name, role in roles.items()}
    with web_server(platform["landing"], platform["url"]) as base:
        yield {**platform, "base": base, "tokens": tokens, "learners": snapshot_learners(platform["landing"])}


def learning(directory, who: str, org: str = ORG) -> requests.Response:
    return requests.get(
        directory["base"] + "/api/admin/analytics/learning",
        params={"organization_id": org},
        headers=bearer(directory["tokens"][who]),
        timeout=30,
    )


def reads(directory) -> list[tuple]:
    with psycopg.connect(directory["url"]) as conn:
        return conn.execute(
            "SELECT role_name, org_id, learners FROM access.learner_directory_reads ORDER BY read_id"
        ).fetchall()


def test_an_org_admin_sees_each_learner_at_risk_by_name_and_each_read_is_audited(directory):
    with psycopg.connect(directory["url"]) as conn:
        enrolled_not_completed = {
            token
            for (token,) in conn.execute(
                "SELECT s.user_token FROM intermediate.int_learner_course_status AS s"
                " WHERE s.org_id = %s AND NOT s.completed",
                (ORG,),
            )
        }
    before = len(reads(directory))
    answer = learning(directory, "admin_a")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["at_risk"]
    assert rows and {row["user_token"] for row in rows} <= enrolled_not_completed
    for row in rows:
        learner = directory["learners"][row["user_token"]]
        assert (row["learner_name"], row["learner_email"]) == (learner["name"], learner["email"])
    audit = reads(directory)[before:]
    assert audit == [(directory["roles"]["admin_a"], ORG, len({row["user_token"] for row in rows}))]


def test_a_tenant_of_the_org_sees_tokens_and_a_tenant_of_another_org_nothing(directory):
    before = len(reads(directory))
    rows = learning(directory, "tenant_a").json()["at_risk"]
    assert rows and all(row["learner_name"] is None and row["learner_email"] is None for row in rows)
    assert learning(directory, "tenant_b").status_code == 403
    assert learning(directory, "platform").json()["at_risk"][0]["learner_name"] is None  # not an org admin
    assert len(reads(directory)) == before  # nobody but an org admin reads the directory


def test_the_at_risk_export_names_learners_for_an_org_admin_only(directory):
    def export(who: str) -> list[dict]:
        answer = requests.get(
            directory["base"] + "/api/admin/analytics/export",
            params={"organization_id": ORG, "dataset": "at_risk"},
            headers=bearer(directory["tokens"][who]),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return list(csv.DictReader(io.StringIO(answer.text)))

    before = len(reads(directory))
    named = export("admin_a")
    assert named and all(
        (row["learner_name"], row["learner_email"])
        == (directory["learners"][row["user_token"]]["name"], directory["learners"][row["user_token"]]["email"])
        for row in named
    )
    assert len(reads(directory)) == before + 1
    assert {(row["learner_name"], row["learner_email"]) for row in export("tenant_a")} == {("", "")}


def test_no_clear_name_or_e_mail_is_anywhere_in_the_database(directory):
    secrets = [value for learner in directory["learners"].values() for value in (learner["name"], learner["email"])]
    assert len(secrets) > 100
    with psycopg.connect(directory["url"]) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert len(tables) > 30
        for schema, table in tables:
            found = conn.execute(
                sql.SQL("SELECT t::text FROM {}.{} AS t WHERE t::text LIKE ANY (%s) LIMIT 1").format(
                    sql.Identifier(schema), sql.Identifier(table)
                ),
                ([f"%{secret}%" for secret in secrets],),
            ).fetchone()
            assert found is None, (schema, table, found)
        sealed = conn.execute("SELECT count(*), count(name_sealed), count(email_sealed) FROM raw.learner_directory")
        assert sealed.fetchone() == (len(directory["learners"]),) * 3


# --- erasure, and the read's own rules, on a small directory of its own ----------------------------


@pytest.fixture
def small(tmp_path, migrated_db):
    landing = tmp_path / "landing"
    write_reference(landing, [("org_a", "u1", "c1"), ("org_a", "u2", "c1"), ("org_b", "u3", "c1")])
    write_learners(landing, [("u1", "Ada Lovelace", "ada@example.org"), ("u2", "Alan Turing", "alan@example.org")])
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, landing, TOKENIZER)
        ensure_role(conn, "admin_a_dir")
        grant(conn, "admin_a_dir", "org_a", "org_admin")
        ensure_role(conn, "admin_b_dir")
        grant(conn, "admin_b_dir", "org_b", "org_admin")
    return {"landing": landing, "url": migrated_db}


def write_learners(landing: Path, rows: list[tuple[str, str, str]]) -> None:
    with learners_snapshot(landing).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "name", "email", "department"])  # more columns are ignored
        writer.writerows([(*row, "Maths") for row in rows])


def read_as(url: str, role: str, org: str, *user_ids: str) -> dict[str, tuple]:
    """The directory as the web app reads it: acting as `role`, opened with the key."""
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        rows = conn.execute(
            "SELECT * FROM access.read_learner_directory(%s, %s)", (org, [TOKENIZER.token(u) for u in user_ids])
        ).fetchall()
    sealer = TOKENIZER.sealer
    return {token: (sealer.open(token, "name", n), sealer.open(token, "email", e)) for token, n, e in rows}


def test_only_an_org_admin_of_an_org_the_learner_is_enrolled_in_reads_them(small):
    ada, alan = TOKENIZER.token("u1"), TOKENIZER.token("u2")
    assert read_as(small["url"], "admin_a_dir", "org_a", "u1", "u2") == {
        ada: ("Ada Lovelace", "ada@example.org"),
        alan: ("Alan Turing", "alan@example.org"),
    }
    assert read_as(small["url"], "admin_b_dir", "org_b", "u1") == {}  # not enrolled in org_b
    assert read_as(small["url"], "admin_b_dir", "org_a", "u1") == {}  # no grant on org_a
    with psycopg.connect(small["url"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "SELECT * FROM raw.learner_directory; SET ROLE admin_a_dir; SELECT * FROM raw.learner_directory"
            )
    # A sealed value moved to another learner does not open.
    with psycopg.connect(small["url"], autocommit=True) as conn:
        conn.execute(
            "UPDATE raw.learner_directory SET name_sealed = (SELECT name_sealed FROM raw.learner_directory"
            " WHERE user_token = %s) WHERE user_token = %s",
            (ada, alan),
        )
    with pytest.raises(InvalidTag):
        read_as(small["url"], "admin_a_dir", "org_a", "u2")


def test_erasure_removes_the_entry_and_a_relanded_snapshot_does_not_bring_it_back(small):
    with psycopg.connect(small["url"], autocommit=True) as conn:
        removed = forget_learner(conn, TOKENIZER, "u1", None, "test")
    assert removed["raw.learner_directory"] == 1
    write_learners(
        small["landing"],
        [("u1", "Ada Lovelace", "ada@example.org"), ("u2", "Alan Turing", "alan@example.org"), ("u9", "New", "")],
    )
    with psycopg.connect(small["url"], autocommit=True) as conn:
        assert load_reference(conn, small["landing"], TOKENIZER)["learners"] == 3
        stored = {token for (token,) in conn.execute("SELECT user_token FROM raw.learner_directory")}
    assert stored == {TOKENIZER.token("u2"), TOKENIZER.token("u9")}
    assert read_as(small["url"], "admin_a_dir", "org_a", "u1", "u2") == {
        TOKENIZER.token("u2"): ("Alan Turing", "alan@example.org")
    }
    with psycopg.connect(small["url"]) as conn:
        audit = conn.execute("SELECT role_name, org_id, learners FROM access.learner_directory_reads").fetchall()
    assert audit == [("admin_a_dir", "org_a", 1)]


def test_a_learner_forgotten_in_one_org_is_not_read_for_that_org(small):
    with psycopg.connect(small["url"], autocommit=True) as conn:
        removed = forget_learner(conn, TOKENIZER, "u2", "org_a", "test")
    assert "raw.learner_directory" not in removed  # the entry stays: other orgs may need it
    assert read_as(small["url"], "admin_a_dir", "org_a", "u1", "u2") == {
        TOKENIZER.token("u1"): ("Ada Lovelace", "ada@example.org")
    }


def test_a_learners_snapshot_without_its_columns_is_refused_with_a_reason(small):
    learners_snapshot(small["landing"]).write_text("user_id,full_name\nu1,Ada\n")
    with psycopg.connect(small["url"], autocommit=True) as conn:
        with pytest.raises(ValueError, match="missing column"):
            load_reference(conn, small["landing"], TOKENIZER)
