"""Shared fixtures: a real PostgreSQL (embedded via pgserver unless ANALYTICS_DATABASE_URL is
set) and a fresh database per use, so tests never see each other's data."""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from analytics_pipeline.db.embedded import configure_server, stop_embedded_server
from analytics_pipeline.db.migrations import migrate
from analytics_pipeline.db.urls import libpq_url, with_database
from analytics_pipeline.demo.generator import generate

TEST_PII_KEY = "test-pii-key-not-secret"
TEST_DIRECTORY_KEY = "test-directory-key-not-secret"
# Modules whose every test runs the whole pipeline, a browser, the daemon or the Dagster UI.
E2E_MODULES = {
    "test_pipeline",
    "test_fault_tolerance",
    "test_concurrency",
    "test_daemon_recovery",
    "test_learning_marts",
    "test_erasure",
    "test_retention",
    "test_dashboard",
    "test_first_day",
    "test_webserver",
    "test_replay",
}
# The module whose killed-daemon test waits on the daemon for minutes: handed out before all
# others, so that it neither ends the run nor shares the machine with the topology test's
# daemon (each slows the other's runs, and so its waits).
LONGEST_MODULES = {"test_daemon_recovery"}


def pytest_collection_modifyitems(items) -> None:
    """Every test is `unit` (no database, no server), `integration` (a real PostgreSQL, a
    server on loopback, the CLI) or `e2e` (a pipeline run, a browser, the daemon), so the fast
    part runs alone: `pytest -m unit`, `pytest -m "not e2e"`."""
    for item in items:
        # Schemathesis names a test per API operation, but under pytest 9 they share one node
        # id, which pytest-xdist takes for one test and runs once: each gets its operation.
        label = getattr(item, "operation_label", None)
        if label and item._id.params is None:
            item._id = item._id.with_params(label)
        module = item.module.__name__.rsplit(".", 1)[-1]
        if item.get_closest_marker("e2e") or item.get_closest_marker("integration"):
            continue
        if module in E2E_MODULES or "platform" in item.fixturenames:
            item.add_marker(pytest.mark.e2e)
        elif "server_url" in item.fixturenames:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
    # The slowest modules first, whole: pytest-xdist hands modules out in this order (the
    # Makefile turns off its own reordering by test count), and a long one handed out last
    # would keep one core busy while the others wait.
    kinds = ("e2e", "integration", "unit")
    rank: dict[str, tuple[bool, int]] = {}
    for item in items:
        module = item.module.__name__
        kind = next(k for k in kinds if item.get_closest_marker(k))
        later = module.rsplit(".", 1)[-1] not in LONGEST_MODULES
        rank[module] = min(rank.get(module, (True, len(kinds))), (later, kinds.index(kind)))
    items.sort(key=lambda item: rank[item.module.__name__])
    # Two tests under one id would run as one on a pytest-xdist worker.
    shared = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if shared:
        raise pytest.UsageError(f"tests sharing a node id: {', '.join(shared)}")


# A server named by ANALYTICS_DATABASE_URL outlives the session; the embedded one does not.
EXTERNAL_SERVER_URL = os.environ.get("ANALYTICS_DATABASE_URL")


# The embedded test server is thrown away with the session, so its data lives in memory when
# the machine has room (each database created is hundreds of files) and it skips the flushes
# that only make data survive a crash of the server (PostgreSQL's "non-durable settings").
IN_MEMORY = Path("/dev/shm")
IN_MEMORY_ROOM = 8 * 2**30
IN_MEMORY_PREFIX = "analytics-pipeline-tests-"
NON_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def throwaway_folder(tmp_path_factory) -> Path:
    """Where the test server keeps its data: in memory if there is room, else on disk."""
    if not (IN_MEMORY.is_dir() and shutil.disk_usage(IN_MEMORY).free >= IN_MEMORY_ROOM):
        return tmp_path_factory.mktemp("pg")
    # What a killed session left in memory stays there until the machine restarts.
    for stale in IN_MEMORY.glob(f"{IN_MEMORY_PREFIX}*"):
        if not (stale / "data" / "postmaster.pid").exists() and time.time() - stale.stat().st_mtime > 600:
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=IN_MEMORY_PREFIX, dir=IN_MEMORY))


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> Iterator[str]:
    """A maintenance URL on the test server (needs CREATEDB when it comes from the env)."""
    if EXTERNAL_SERVER_URL:
        yield libpq_url(EXTERNAL_SERVER_URL)
        return
    import pgserver

    folder = throwaway_folder(tmp_path_factory)
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    configure_server(server)  # as the project's own embedded server
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for name, value in NON_DURABLE.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
    yield server.get_uri()
    # configure_server restarted the server, and pgserver's handle still knows only the first
    # postmaster: stopped by its data folder, the server is gone before its files are deleted
    # (else its autovacuum writes into a database folder while it is being removed).
    stop_embedded_server(folder / "data")
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


class Databases:
    """The test databases of a session, by the fixture scope that made them. A test's are
    dropped when it ends and a module's when its last test ends, and their names are given to
    later databases: dbt keeps its parse state for each database name it worked in, and parses
    the whole project again in a database whose name it has no state for."""

    def __init__(self, server_url: str):
        self.server_url, self.prefix = server_url, f"t_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self.numbers, self.free = itertools.count(), []
        self.scoped: dict[str, list[str]] = defaultdict(list)

    def create(self, migrated: bool = False) -> str:
        # The oldest name first: a test making its databases in the order an earlier one did
        # (the analytics one, then Dagster's) gets each the name it had there.
        number = heapq.heappop(self.free) if self.free else next(self.numbers)
        name = f"{self.prefix}_{number}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            if migrated and self.template not in self.scoped["session"]:
                conn.execute(f'CREATE DATABASE "{self.template}"')
                self.scoped["session"].append(self.template)
                migrate(with_database(self.server_url, self.template))
            source = f' TEMPLATE "{self.template}"' if migrated else ""
            # The embedded server copies the template's files as they are, not through its WAL.
            strategy = "" if EXTERNAL_SERVER_URL else " STRATEGY FILE_COPY"
            conn.execute(f'CREATE DATABASE "{name}"{source}{strategy}')
        self.scoped[SCOPES[-1]].append(name)
        return with_database(self.server_url, name)

    def drop(self, scope: str) -> None:
        """Drop the databases made for `scope`, and give their names to later ones."""
        names, self.scoped[scope] = self.scoped[scope], []
        if not names:
            return
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if name != self.template:
                    heapq.heappush(self.free, int(name.rsplit("_", 1)[1]))


# The scope of the fixture being set up ("function" while a test runs): what a database made
# now is for. Outside any, a database lives for the session.
SCOPES = ["session"]
DATABASES: list[Databases] = []  # this session's, once a test asks for one


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef):
    SCOPES.append(fixturedef.scope)
    try:
        return (yield)
    finally:
        SCOPES.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call():
    SCOPES.append("function")
    try:
        return (yield)
    finally:
        SCOPES.pop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    # Pytest has finalized the test's fixtures, and the module's when the next test is in another.
    for databases in DATABASES:
        databases.drop("function")
        if nextitem is None or nextitem.module is not item.module:
            databases.drop("module")
    return result


@pytest.fixture(scope="session")
def new_database(server_url):
    """Call to create a database; returns its URL. Dropped when the scope of the fixture (or
    test) that made it ends, on a server that outlives the session at its end (the embedded one
    is deleted whole). With `migrated=True` it is a copy of a database migrated once per
    session (CREATE DATABASE … TEMPLATE): every migration and routine in place, none of them
    run again."""
    databases = Databases(server_url)
    DATABASES.append(databases)
    yield databases.create
    DATABASES.remove(databases)
    if EXTERNAL_SERVER_URL:
        for scope in list(databases.scoped):
            databases.drop(scope)


@pytest.fixture
def migrated_db(new_database) -> str:
    return new_database(migrated=True)


@pytest.fixture
def conn(migrated_db) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_db, autocommit=True) as connection:
        yield connection


@contextmanager
def pipeline_environment(database_url: str, dagster_url: str, home: Path):
    """The variables an operator would set, for the `with` block only (bootstrap() adds more,
    and everything is restored afterwards)."""
    saved = dict(os.environ)
    try:
        os.environ.update(
            ANALYTICS_DATABASE_URL=database_url,
            DAGSTER_POSTGRES_URL=dagster_url,
            ANALYTICS_HOME=str(home),
            ANALYTICS_PII_KEY=TEST_PII_KEY,
            ANALYTICS_DIRECTORY_KEY=TEST_DIRECTORY_KEY,
        )
        for name in ("DAGSTER_HOME", "ANALYTICS_ENV"):
            os.environ.pop(name, None)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def free_port() -> int:
    """A loopback TCP port nobody listens on now, below the kernel's range of ephemeral ports:
    a port from that range (what binding port 0 gives) can become the local end of any
    outgoing connection before the server meant to listen on it has started."""
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(min(10_000, first_ephemeral // 2), first_ephemeral)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def cli_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("analytics-pipeline")), *args]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it, with the current environment."""
    return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=600, cwd=cwd)


def run_command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The same command through the console script's entry point, in this process, for tests
    about what a command does rather than the process it runs in: a new interpreter would
    import Dagster and dbt again for each one. Its output and status as `run_cli` gives them."""
    from analytics_pipeline.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), contextlib.chdir(cwd or Path.cwd()):
        code = main(list(args))
    return subprocess.CompletedProcess(["analytics-pipeline", *args], code, out.getvalue(), err.getvalue())


def corpus_and_clean_run(tmp_path_factory, new_database, **corpus) -> tuple[Path, str]:
    """A generated landing zone, and a database the whole pipeline built from it undisturbed."""
    landing = tmp_path_factory.mktemp("landing")
    generate(landing, orgs=2, seed=21, **corpus)
    url = new_database()
    with pipeline_environment(url, new_database(), tmp_path_factory.mktemp("home")):
        done = run_command("run", "--landing", str(landing))
    assert done.returncode == 0, done.stderr[-2000:]
    return landing, url


def run_pipeline_over(landing: Path, home: Path, new_database) -> str:
    """The whole pipeline, in process, over a landing zone, into a new database; its URL."""
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import Executor, local_instance, run_pipeline

    url = new_database()
    with pipeline_environment(url, new_database(), home):
        env = bootstrap(landing)
        from analytics_pipeline.definitions import defs

        with local_instance() as instance:
            run_pipeline(env.database_url, env.landing, Executor(defs, instance))
    return url


# The generated corpus the `platform` fixture runs the pipeline over.
PLATFORM_CORPUS = {"orgs": 3, "learners": 120, "days": 6, "seed": 4, "end_date": date(2026, 4, 6)}


@pytest.fixture(scope="session")
def platform(new_database, tmp_path_factory):
    """A pipeline run over 3 orgs, and roles: tenant A, tenant B, org admin of A, platform
    admin, nobody. Shared by the access, admin API and dashboard tests; a test that changes
    grants or figures puts them back."""
    from analytics_pipeline.access.grants import ensure_role, grant

    landing, home = tmp_path_factory.mktemp("landing"), tmp_path_factory.mktemp("home")
    generate(landing, **PLATFORM_CORPUS)
    url = run_pipeline_over(landing, home, new_database)
    suffix = uuid.uuid4().hex[:8]
    roles = {name: f"{name}_{suffix}" for name in ("tenant_a", "tenant_b", "admin_a", "platform", "nobody")}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, role in roles.items():
            ensure_role(conn, role, login=name == "tenant_a", platform_admin=name == "platform")
        grant(conn, roles["tenant_a"], "org_1")
        grant(conn, roles["tenant_b"], "org_2")
        grant(conn, roles["admin_a"], "org_1", "org_admin")
    return {"url": url, "roles": roles, "landing": landing, "home": home}
