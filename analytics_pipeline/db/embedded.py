"""The embedded PostgreSQL (pgserver) used when ANALYTICS_DATABASE_URL is not set."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psycopg
from psycopg import sql

from analytics_pipeline.config import Config, load_config
from analytics_pipeline.db.urls import check_postgres_url
from analytics_pipeline.shared_files import exclusive

ANALYTICS_DB = "analytics"
DAGSTER_DB = "dagster"
# Event ids are client UUIDs, so ingestion writes its indexes at random pages, and after a
# checkpoint the first change to each page logs the whole page: compressed WAL and a bigger
# WAL budget keep a burst of ingestion from paying that over and over. The event-id ledger's
# key is probed and written at random pages too: with PostgreSQL's default 128MB of buffers,
# a ledger of a few million ids no longer fits, and each day ingested costs more than the
# last. deploy/docker-compose.yml sets the same on its server.
SERVER_SETTINGS = {"wal_compression": "on", "max_wal_size": "4GB", "shared_buffers": "1GB"}


def start_embedded_server(data_dir: Path | None = None):
    """Start (or reuse) the embedded server; it keeps running after this process exits."""
    import pgserver  # imported lazily: starting a server is the only reason to load it

    data_dir = data_dir or load_config().embedded_data_dir()
    # One command at a time starts and configures it: two starting together on a new machine
    # would each restart it to apply the settings, cutting off the other's connections.
    with exclusive(data_dir.parent / f".{data_dir.name}.lock"):
        already_running = _pid_file(data_dir).exists()
        # cleanup_mode=None: the next command (or `dagster dev`) reuses the running server.
        server = pgserver.get_server(data_dir, cleanup_mode=None)
        # A server this process started has nobody else connected yet: a setting read only at
        # start is applied now. One already serving others gets it at its next start.
        configure_server(server, restart=not already_running)
    return server


def stop_embedded_server(data_dir: Path | None = None, timeout: float = 60) -> bool:
    """Stop the embedded server if it runs (a fast shutdown: sessions end, data is safe);
    returns whether one was running."""
    pid_file = _pid_file(data_dir or load_config().embedded_data_dir())
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, signal.SIGINT)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    deadline = time.monotonic() + timeout
    while pid_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded PostgreSQL (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.1)
    return True


def _pid_file(data_dir: Path) -> Path:
    """PostgreSQL's own record of the server running on `data_dir`, there while it runs."""
    return data_dir / "postmaster.pid"


def configure_server(server, restart: bool = True) -> dict[str, str]:
    """Apply SERVER_SETTINGS to an embedded server (a pgserver handle), once: later starts find
    them in place. When one is read only at start, the server is restarted (unless `restart`
    is false). Returns the settings it had to change."""
    at_start = False
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        missing = missing_settings(conn)
        if missing:
            for name, value in missing.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            conn.execute("SELECT pg_reload_conf()")
            at_start = conn.execute(
                "SELECT count(*) > 0 FROM pg_settings WHERE context = 'postmaster' AND name = ANY(%s)", (list(missing),)
            ).fetchone()[0]
    if restart and at_start:
        import pgserver

        # -l: the server's output goes to its log, not to the pipe pg_ctl's caller reads.
        pgserver.pg_ctl(
            ["-w", "-m", "fast", "-l", str(server.log), "restart"], pgdata=server.pgdata, user=server.system_user
        )
    return missing


def missing_settings(conn: psycopg.Connection) -> dict[str, str]:
    """The SERVER_SETTINGS the server's configuration does not hold yet."""
    query = "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'"
    applied = dict(conn.execute(query).fetchall())
    return {name: value for name, value in SERVER_SETTINGS.items() if applied.get(name) != value}


def ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        # Another command starting at the same time may create it first.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def resolve_urls(config: Config | None = None) -> tuple[str, str]:
    """(analytics database URL, Dagster storage URL).

    ANALYTICS_DATABASE_URL when set, else an `analytics` database on the embedded server.
    Dagster's storage: DAGSTER_POSTGRES_URL when set; else a `dagster` database beside the
    embedded one; else, on a server the project does not own, the analytics database itself
    (Dagster's tables live in `public`, apart from raw/core/marts/access).
    """
    config = config or load_config()
    analytics, dagster = config.database_url, config.dagster_postgres_url
    for name, url in (("ANALYTICS_DATABASE_URL", analytics), ("DAGSTER_POSTGRES_URL", dagster)):
        if url:
            check_postgres_url(name, url)
    if analytics:
        return analytics, dagster or analytics
    server = start_embedded_server(config.embedded_data_dir())
    ensure_database(server.get_uri(), ANALYTICS_DB)
    if not dagster:
        ensure_database(server.get_uri(), DAGSTER_DB)
        dagster = server.get_uri(DAGSTER_DB)
    return server.get_uri(ANALYTICS_DB), dagster
