"""Tenant isolation with real roles on a real PostgreSQL, PII protection, and export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from analytics_pipeline.access.export import export_mart
from analytics_pipeline.access.grants import grant, list_grants, revoke
from analytics_pipeline.marts import MARTS
from tests.conftest import pipeline_environment

CORE = ("user_lesson_progress", "user_course_progress")
TABLES = [("marts", m) for m in (*MARTS, "org_summaries")] + [("core", c) for c in CORE]


def orgs_seen(conn, role: str, schema: str, table: str, setup: tuple[str, ...] = ()) -> set:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    try:
        for statement in setup:
            conn.execute(statement)
        query = sql.SQL("SELECT DISTINCT org_id FROM {}").format(sql.Identifier(schema, table))
        return {r[0] for r in conn.execute(query)}
    finally:
        conn.execute("RESET ALL")
        conn.execute("RESET ROLE")


def test_each_role_sees_exactly_its_orgs_in_every_mart_and_core_table(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        for schema, table in TABLES:
            everything = {
                r[0]
                for r in conn.execute(sql.SQL("SELECT DISTINCT org_id FROM {}").format(sql.Identifier(schema, table)))
            }
            assert {"org_1", "org_2", "org_3"} <= everything, table
            assert orgs_seen(conn, roles["tenant_a"], schema, table) == {"org_1"}, table
            assert orgs_seen(conn, roles["tenant_b"], schema, table) == {"org_2"}, table
            assert orgs_seen(conn, roles["admin_a"], schema, table) == {"org_1"}, table
            assert orgs_seen(conn, roles["platform"], schema, table) == everything, table
            assert orgs_seen(conn, roles["nobody"], schema, table) == set(), table


@pytest.mark.parametrize(
    "setup",
    [
        ("SET app.org_id = 'org_2'",),
        ("SET search_path = marts, core, access, public",),
        ("SET ROLE analytics_tenant",),
        ("SELECT set_config('request.header_x_org_id', 'org_2', false)",),
    ],
)
def test_nothing_a_session_sets_widens_what_a_tenant_sees(platform, setup):
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        seen = orgs_seen(conn, platform["roles"]["tenant_a"], "marts", "view_course_completion_rate", setup)
    assert seen <= {"org_1"}


def test_turning_row_security_off_is_refused_not_obeyed(platform):
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            orgs_seen(conn, platform["roles"]["tenant_a"], "marts", "view_lesson_dropoff", ("SET row_security = off",))


def test_grants_cannot_be_written_or_seen_across_tenants(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(roles["tenant_a"])))
        assert {r[0] for r in conn.execute("SELECT role_name FROM access.org_grants")} == {roles["tenant_a"]}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO access.org_grants VALUES (current_user, 'org_2', 'tenant')")


def test_free_text_only_with_the_org_admin_grant(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        assert orgs_seen(conn, roles["tenant_a"], "raw", "survey_free_text") == set()
        assert orgs_seen(conn, roles["admin_a"], "raw", "survey_free_text") == {"org_1"}
        # Ratings and counts stay visible to the plain tenant.
        assert orgs_seen(conn, roles["tenant_a"], "marts", "survey_summary") == {"org_1"}


def test_policies_survive_a_dbt_rebuild(platform):
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import local_instance

    with pipeline_environment(platform["url"], platform["url"], platform["home"]):
        bootstrap(platform["landing"])
        from analytics_pipeline.definitions import defs

        with local_instance() as instance:
            assert defs.resolve_job_def("marts_job").execute_in_process(instance=instance).success
            assert (
                defs.resolve_job_def("rollup_partition_job")
                .execute_in_process(instance=instance, partition_key="2026-04-02")
                .success
            )
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        unprotected = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'marts' AND c.relkind = 'r' AND NOT (c.relrowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))"
        ).fetchall()
        assert unprotected == []
        for schema, table in TABLES:
            assert orgs_seen(conn, platform["roles"]["tenant_a"], schema, table) == {"org_1"}, table


def test_grant_list_revoke(platform):
    role = platform["roles"]["tenant_b"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        grant(conn, role, "org_3")
        assert {g["org_id"] for g in list_grants(conn) if g["role_name"] == role} == {"org_2", "org_3"}
        assert orgs_seen(conn, role, "marts", "survey_summary") == {"org_2", "org_3"}
        assert revoke(conn, role, "org_3") == 1
        assert orgs_seen(conn, role, "marts", "survey_summary") == {"org_2"}
        with pytest.raises(ValueError):
            grant(conn, "no_such_role_x", "org_1")


def test_export_as_a_tenant_contains_only_its_rows_and_round_trips(platform, tmp_path):
    url, role = platform["url"], platform["roles"]["tenant_a"]
    out = tmp_path / "dropoff.csv"
    rows = export_mart(url, "view_lesson_dropoff", "org_1", out, role=role)
    exported = pd.read_csv(out)
    with psycopg.connect(url) as conn:
        cur = conn.execute("SELECT * FROM marts.view_lesson_dropoff WHERE org_id = 'org_1'")
        expected = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    assert rows == len(exported) == len(expected) > 0
    assert set(exported.org_id) == {"org_1"}
    key = ["course_id", "lesson_id"]
    merged = exported.merge(expected, on=key, suffixes=("_csv", "_db"))
    assert len(merged) == rows and (merged.learners_started_csv == merged.learners_started_db).all()
    # Asking for another org's rows as tenant A yields none: RLS, not the WHERE clause, decides.
    assert export_mart(url, "view_lesson_dropoff", "org_2", tmp_path / "b.csv", role=role) == 0


def test_production_without_a_key_refuses_and_writes_nothing(new_database, tmp_path):
    url = new_database()
    env = {k: v for k, v in os.environ.items() if k != "ANALYTICS_PII_KEY"}
    env.update(ANALYTICS_ENV="production", ANALYTICS_DATABASE_URL=url, ANALYTICS_HOME=str(tmp_path / "home"))
    (tmp_path / "landing").mkdir()
    cli = str(Path(sys.executable).with_name("analytics-pipeline"))
    done = subprocess.run(
        [cli, "run", "--landing", str(tmp_path / "landing")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "ANALYTICS_PII_KEY" in done.stderr and "Traceback" not in done.stderr
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()[0]
    assert tables == 0
    assert not (tmp_path / "home" / "pii.key").exists()
