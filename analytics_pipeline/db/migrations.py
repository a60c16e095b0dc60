"""The schema: versioned migrations (sql/migrations/NNNN_name.sql, each applied once, in
order) for tables, then routines (sql/routines/*.sql, CREATE OR REPLACE) re-applied on every
migrate, so each function's current definition is one file."""

from __future__ import annotations

from functools import partial
from importlib.resources import files

import psycopg

from analytics_pipeline.db.connection import connect
from analytics_pipeline.db.server_roles import again_if_another_database_came_first
from analytics_pipeline.db.sqlfiles import load_sql

# Any fixed key works; it only has to be the same for every process migrating this database.
MIGRATION_LOCK = 74_211_001


def _sql_files(kind: str) -> list[tuple[str, str]]:
    folder = files("analytics_pipeline").joinpath("sql", kind)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text()) for name in names]


def migration_files() -> list[tuple[str, str]]:
    return _sql_files("migrations")


def migrate(url: str) -> list[str]:
    """Apply pending migrations; returns the versions applied now. Safe to run concurrently."""
    applied_now = []
    with connect(url) as conn:
        # The lock comes before the ledger too: CREATE TABLE IF NOT EXISTS fails, rather than
        # waits, when another process's creation of the same table commits first.
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute(load_sql("schema/migrations_ledger"))
            done = {r[0] for r in conn.execute("SELECT version FROM public.analytics_schema_migrations")}
            for version, statements in migration_files():
                if version in done:
                    continue
                # Migrations create the server's group roles, which another database's
                # migration may be creating at the same moment.
                again_if_another_database_came_first(partial(_apply, conn, version, statements))
                applied_now.append(version)
            with conn.transaction():
                for _, statements in _sql_files("routines"):
                    conn.execute(statements)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied_now


def _apply(conn: psycopg.Connection, version: str, statements: str) -> None:
    with conn.transaction():
        conn.execute(statements)
        conn.execute("INSERT INTO public.analytics_schema_migrations (version) VALUES (%s)", (version,))
