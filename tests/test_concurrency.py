"""Runs, migrations, commands and admins at once: each succeeds, and nothing is counted twice."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import TypeVar

import dagster as dg
import psycopg
import pytest
import yaml

from analytics_pipeline.access.grants import ensure_role
from analytics_pipeline.db.embedded import ensure_database, stop_embedded_server
from analytics_pipeline.db.migrations import MIGRATION_LOCK, migrate, migration_files
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.db.urls import with_database
from analytics_pipeline.ingestion.landing import list_batch_files
from analytics_pipeline.ingestion.partition import ingest_partition
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.project_layout import DBT_PROJECT_DIR
from tests.conftest import TEST_PII_KEY, cli_command, pipeline_environment
from tests.landing_helpers import event, write_batch, write_reference

TOKENIZER = Tokenizer(TEST_PII_KEY.encode())
T = TypeVar("T")


def together(count: int, call: Callable[[threading.Barrier], T]) -> tuple[list[T], list[Exception]]:
    """`call` in `count` threads at once (each waits on the barrier it is given once ready to
    start); what they returned and what they raised. A call that raised could otherwise go
    unseen: the others may do all the work alone."""
    start, results, failures = threading.Barrier(count), [], []

    def run():
        try:
            results.append(call(start))
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


def test_two_concurrent_runs_of_a_partition_count_once(tmp_path, migrated_db):
    write_reference(tmp_path, [("org_a", "u1", "c1"), ("org_a", "u2", "c1")])
    day = "2026-02-01"
    shared = event("u1", "c1")
    for index in range(40):
        write_batch(
            tmp_path, day, [event("u1", "c1"), event("u2", "c1", "lesson_completed"), shared], name=f"b{index:02d}"
        )
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, tmp_path, TOKENIZER)

    def run(start: threading.Barrier) -> list:
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            start.wait()
            return ingest_partition(conn, tmp_path, day, TOKENIZER)

    results, failures = together(2, run)
    assert failures == []
    ingested = [r for run in results for r in run]
    assert len(ingested) == 40  # each batch by exactly one of the two runs
    with psycopg.connect(migrated_db) as conn:
        events, ids, batches, duplicates = conn.execute(
            "SELECT (SELECT count(*) FROM raw.analytics_events), (SELECT count(*) FROM raw.analytics_event_ids),"
            " (SELECT count(*) FROM raw.analytics_event_batches), (SELECT sum(duplicates) FROM raw.analytics_event_batches)"
        ).fetchone()
    assert (events, ids, batches, duplicates) == (81, 81, 40, 39)


def test_a_partition_another_writer_is_creating_is_taken_as_there(migrated_db):
    """Two runs of one new day both create its partition: the one that waits for the other's
    transaction finds it there once it commits, instead of failing its ingest."""
    day = date(2026, 2, 1)
    ensure = "SELECT raw.ensure_analytics_events_partition(%s)"
    failures = []

    def second_writer():
        try:
            with psycopg.connect(migrated_db, autocommit=True) as conn:
                conn.execute(ensure, (day,))
        except psycopg.Error as error:
            failures.append(error)

    with psycopg.connect(migrated_db) as first:
        first.execute(ensure, (day,))
        second = threading.Thread(target=second_writer)
        second.start()
        assert waits_on_a_lock(migrated_db, "SELECT raw.ensure_analytics_events_partition(")
        first.commit()
        second.join()
    assert failures == []
    with psycopg.connect(migrated_db) as conn:
        assert conn.execute("SELECT raw.analytics_events_partition_days()").fetchall() == [(day,)]


def test_two_processes_migrating_a_new_database_at_once_both_succeed(new_database):
    """The web app, the code server and a command may all start on a new database at once:
    the one that comes second waits for the first one's migrations, then finds them done."""
    url, failures = new_database(), []

    def second_process():
        try:
            migrate(url)
        except psycopg.Error as error:
            failures.append(error)

    with psycopg.connect(url) as first:  # part-way through its migrations: the ledger created
        first.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        first.execute(load_sql("schema/migrations_ledger"))
        second = threading.Thread(target=second_process)
        second.start()
        assert waits_on_a_lock(url, "")
        first.commit()
        first.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        second.join()
    assert failures == []
    with psycopg.connect(url) as conn:
        applied = conn.execute("SELECT count(*) FROM public.analytics_schema_migrations").fetchone()[0]
    assert applied == len(migration_files())


def test_two_databases_migrating_at_once_on_a_new_server_both_succeed(tmp_path):
    """Two analytics databases of one new server (two environments, or test sessions sharing
    a server) migrated at the same moment both create the server's group roles: the second
    waits on the first one's uncommitted role, then finds it, instead of failing on its name.
    A server of its own: the suite's already has the roles."""
    import pgserver

    server = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    try:
        names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
        for name in names:
            ensure_database(server.get_uri(), name)
        first_url, second_url = (with_database(server.get_uri(), name) for name in names)
        failures = []

        def second_database():
            try:
                migrate(second_url)
            except psycopg.Error as error:
                failures.append(error)

        with psycopg.connect(first_url) as first:  # its migration part-way: the role made, not committed
            first.execute("CREATE ROLE analytics_tenant NOLOGIN")
            second = threading.Thread(target=second_database)
            second.start()
            assert waits_on_a_lock(second_url, "")
            first.commit()
        second.join()
        migrate(first_url)
        assert failures == []
        for url in (first_url, second_url):
            with psycopg.connect(url) as conn:
                applied = conn.execute("SELECT count(*) FROM public.analytics_schema_migrations").fetchone()[0]
            assert applied == len(migration_files())
    finally:
        server.cleanup()


def test_commands_starting_at_once_on_a_new_server_all_get_its_database(server_url):
    """Two commands started at the same time on a fresh machine (`make dev` and `make serve`)
    both create the embedded server's databases: neither fails because the other came first."""
    name = f"t_{uuid.uuid4().hex[:12]}"

    def command(start: threading.Barrier) -> None:
        start.wait()
        ensure_database(server_url, name)

    _, failures = together(4, command)
    with psycopg.connect(server_url, autocommit=True) as conn:
        created = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert failures == [] and created == 1


# A command's start on the embedded server: started at the time given, it goes on using the
# server for a while, as a command does.
STARTING_COMMAND = """
import sys, time
from pathlib import Path
import psycopg
from analytics_pipeline.db.embedded import ensure_database, start_embedded_server
data_dir, start_at = Path(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0, start_at - time.time()))
server = start_embedded_server(data_dir)
ensure_database(server.get_uri(), "analytics")
for _ in range(20):
    with psycopg.connect(server.get_uri("analytics")) as conn:
        conn.execute("SELECT 1")
    time.sleep(0.1)
"""


def test_commands_starting_at_once_on_a_new_machine_all_use_the_embedded_server(tmp_path):
    """`make dev` and `make serve` in two terminals of a new machine both start the embedded
    server, which is restarted once to apply its settings: by the command that started it,
    before the others connect, so none of them loses its connections."""
    data_dir, start_at = tmp_path / "pgdata", time.time() + 3
    commands = [
        subprocess.Popen(
            [sys.executable, "-c", STARTING_COMMAND, str(data_dir), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    try:
        outputs = [command.communicate(timeout=120)[0].decode()[-1500:] for command in commands]
    finally:
        stop_embedded_server(data_dir)
    assert [command.returncode for command in commands] == [0, 0, 0], outputs


def dagster_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_commands_opening_a_new_dagster_storage_make_its_tables_one_at_a_time(new_database, tmp_path):
    """`make demo` beside `make dev` on a new machine both open the Dagster instance, and the
    first opening of a new storage makes Dagster's tables (the later of two at once failed on
    a table the other had made). One process makes them while the others wait for the home's
    lock, and then find them made."""
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.shared_files import exclusive

    storage = new_database()
    with pipeline_environment(new_database(), storage, tmp_path / "home"):
        home = bootstrap(tmp_path / "landing").dagster_home
        opened: list[dg.DagsterInstance] = []
        with exclusive(home / ".storage.lock"):  # another process, making the tables
            opener = threading.Thread(target=lambda: opened.append(dg.DagsterInstance.get()))
            opener.start()
            opener.join(timeout=2)
            assert opener.is_alive(), "it opened the storage without waiting its turn"
            assert dagster_tables(storage) == set()
        opener.join(timeout=60)
        with opened[0] as instance:
            assert {"runs", "event_logs"} <= dagster_tables(storage)
            assert instance.get_runs() == []


@pytest.mark.parametrize(
    ("part", "check", "present", "absent"),
    [
        ("event_log_storage", "has_table", ("asset_event_tags",), ("no_such_table",)),
        ("event_log_storage", "has_asset_key_col", ("cached_status_data",), ("no_such_column",)),
        ("run_storage", "has_backfill_id_column", (), None),
        ("run_storage", "has_run_stats_index_cols", (), None),
    ],
)
def test_the_storage_asks_whether_a_table_or_column_exists_until_it_is_found(
    new_database, monkeypatch, part, check, present, absent
):
    """Dagster's storages ask PostgreSQL's catalog before many statements; a table or column
    found is not asked about again (migrations only add them), a missing one is."""
    from sqlalchemy import event

    from analytics_pipeline.db.dagster_storage import PooledPostgresStorage
    from analytics_pipeline.db.urls import sqlalchemy_psycopg2_url

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    storage = PooledPostgresStorage.from_config_value(None, {"postgres_url": sqlalchemy_psycopg2_url(new_database())})
    checked, asked = getattr(storage, part), []
    event.listen(checked._engine, "before_cursor_execute", lambda *args: asked.append(args[2]))

    def catalog_queries() -> int:
        return len([statement for statement in asked if "pg_catalog" in statement])

    try:
        assert [getattr(checked, check)(*present) for _ in range(3)] == [True] * 3
        once = catalog_queries()
        assert once >= 1
        assert [getattr(checked, check)(*present) for _ in range(2)] == [True] * 2
        assert catalog_queries() == once
        if absent is not None:
            assert [getattr(checked, check)(*absent) for _ in range(2)] == [False] * 2
            assert catalog_queries() >= once + 2
    finally:
        for kept in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
            kept._engine.dispose()  # the connections the storage keeps open


def test_commands_starting_at_once_on_a_stale_manifest_all_load_a_whole_one():
    """Commands started together after a model changed (`make dev` beside `make serve`) all
    find dbt's manifest stale: all succeed, and a process loading the definitions meanwhile
    reads the old manifest or the new one, never one half written."""
    from analytics_pipeline.defs.dbt.project import dbt_project

    manifest = dbt_project.manifest_path
    nodes = json.loads(manifest.read_bytes())["nodes"].keys()
    os.utime(manifest, (0, 0))  # older than every model: stale
    commands = [
        subprocess.Popen(cli_command("prepare"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)
    ]
    reads, torn = 0, 0
    while any(command.poll() is None for command in commands):
        try:
            json.loads(manifest.read_bytes())
        except ValueError:
            torn += 1
        reads += 1
    outputs = [command.communicate()[0].decode()[-2000:] for command in commands]
    assert [command.returncode for command in commands] == [0, 0, 0], outputs
    assert torn == 0, f"{torn} of {reads} reads found the manifest half written"
    assert json.loads(manifest.read_bytes())["nodes"].keys() == nodes


def test_admins_creating_one_role_at_once_all_succeed(new_database):
    """`access create-role` run at the same moment for a new role: by two admins or a
    provisioning script retried, on one database, and for two analytics databases on one
    server, whose roles are the server's. Every call succeeds, the role is made once, and
    each database lets the web app act as it. Ten roles, as a single try need not collide."""
    roles, failures = [f"concurrent_{uuid.uuid4().hex[:8]}" for _ in range(10)], []
    databases = [new_database(migrated=True) for _ in range(2)]
    callers: queue.SimpleQueue[str] = queue.SimpleQueue()  # the database of each caller, two on each

    def admin(role: str, start: threading.Barrier) -> None:
        with psycopg.connect(callers.get(), autocommit=True) as conn:
            start.wait()
            ensure_role(conn, role)

    for role in roles:
        for database in databases * 2:
            callers.put(database)
        failures += together(4, partial(admin, role))[1]
    assert failures == []
    for database in databases:
        with psycopg.connect(database) as conn:
            made = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) AND web.may_act_as(rolname)", (roles,)
            )
            assert sorted(row[0] for row in made) == sorted(roles)


def test_every_schema_dbt_builds_in_exists_before_its_first_build(conn):
    """The first builds of two dbt pools may start at once on a new database: neither has a
    schema of its own to create, so they cannot collide creating one."""
    folders = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["models"]["analytics_pipeline"]
    schemas = {config["+schema"] for config in folders.values() if isinstance(config, dict) and "+schema" in config}
    existing = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
    assert schemas and schemas <= existing, schemas - existing


def waits_on_a_lock(url: str, statement_start: str, timeout: float = 60) -> bool:
    """Whether a statement starting with `statement_start` was seen waiting on a lock (a row
    or a relation another transaction holds) within `timeout`."""
    with psycopg.connect(url, autocommit=True) as watch:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if watch.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND starts_with(query, %s)",
                (statement_start,),
            ).fetchone():
                return True
            time.sleep(0.02)
    return False


def ingest_waits_on_an_id(url: str) -> bool:
    """Whether an ingest's COPY into the event-id ledger waited on an id another run holds
    uncommitted."""
    return waits_on_a_lock(url, "COPY raw.analytics_event_ids")


# What the other run does once the ingest waits on its id, before it commits: nothing more;
# COPY its own events, which takes the events table in ROW EXCLUSIVE mode; or lock the
# ingested file, as a replay of it would, which deadlocks with the ingest.
THEN = {
    "commits": None,
    "writes_events": "LOCK TABLE raw.analytics_events IN ROW EXCLUSIVE MODE",
    "deadlocks": "SELECT pg_advisory_xact_lock(hashtextextended(%(path)s, 0))",
}


@pytest.mark.parametrize("then", THEN.values(), ids=THEN.keys())
def test_an_event_id_a_concurrent_run_commits_first_counts_as_a_duplicate(then, tmp_path, migrated_db):
    """Runs of two partitions can hold one event id (a client retry that landed on another day).
    Here the other run inserts it into the ledger after this run's probe: this run's COPY waits
    on it, fails on the ledger's key once it commits, and the group is written again. The
    waiting run holds no lock on the events table (its day's partition was created before its
    transaction: created inside, it would lock the table against the other run's writes, a
    deadlock); and when the two do deadlock, PostgreSQL ends the ingest's transaction, which
    is tried again."""
    write_reference(tmp_path, [("org_a", "u1", "c1")])
    shared = event("u1", "c1")
    write_batch(tmp_path, "2026-02-01", [shared, event("u1", "c1", "lesson_completed")], name="late")
    [landed] = list_batch_files(tmp_path)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        load_reference(conn, tmp_path, TOKENIZER)
    outcome = {}

    def other_run(other: psycopg.Connection) -> None:
        try:
            outcome["waited"] = ingest_waits_on_an_id(migrated_db)
            # Each session looks for a deadlock deadlock_timeout after its wait began: the
            # ingest, waiting half a second longer, looks first, finds it, and is the one ended.
            time.sleep(0.5)
            if then:
                other.execute(then, {"path": landed.landing_path})
            other.commit()
            outcome["other"] = "committed"
        except psycopg.Error as error:
            other.rollback()
            outcome["other"] = type(error).__name__

    with psycopg.connect(migrated_db) as other:
        other.execute(
            "INSERT INTO raw.analytics_event_ids VALUES (%s, '2026-01-31', 'other-run')", (shared["clientEventId"],)
        )
        thread = threading.Thread(target=other_run, args=(other,))
        thread.start()
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            [result] = ingest_partition(conn, tmp_path, "2026-02-01", TOKENIZER)
        thread.join()
    assert outcome == {"waited": True, "other": "committed"}
    assert (result.lines, result.accepted, result.duplicates) == (2, 1, 1)
    with psycopg.connect(migrated_db) as conn:
        assert conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE client_event_id = %s) FROM raw.analytics_events",
            (shared["clientEventId"],),
        ).fetchone() == (1, 0)
        assert conn.execute("SELECT count(*) FROM raw.analytics_event_ids").fetchone()[0] == 2
