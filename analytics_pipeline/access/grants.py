"""Manage tenant roles and their org grants (access.org_grants); RLS does the rest."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from analytics_pipeline.access.credentials import allow_web_to_act_as
from analytics_pipeline.db.sqlfiles import load_sql

PRIVILEGES = ("tenant", "org_admin")


def ensure_role(
    conn: psycopg.Connection,
    role: str,
    *,
    login: bool = False,
    password: str | None = None,
    platform_admin: bool = False,
) -> None:
    """Create the role if missing (LOGIN or NOLOGIN as asked), make it a member of the group
    that holds the SELECT privileges, and let the web app act as it."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(role), sql.SQL("LOGIN" if login else "NOLOGIN"))
        )
    if password is not None:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    group = "analytics_platform_admin" if platform_admin else "analytics_tenant"
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role)))
    allow_web_to_act_as(conn, role)


def grant(conn: psycopg.Connection, role: str, org: str, privilege: str = "tenant") -> None:
    if privilege not in PRIVILEGES:
        raise ValueError(f"privilege must be one of {PRIVILEGES}, not {privilege!r}")
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        raise ValueError(f"role {role!r} does not exist: create it first (access create-role)")
    conn.execute(
        "INSERT INTO access.org_grants (role_name, org_id, privilege) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (role, org, privilege),
    )


def revoke(conn: psycopg.Connection, role: str, org: str, privilege: str | None = None) -> int:
    """Returns how many grants were removed (all privileges when none is named)."""
    return conn.execute(
        "DELETE FROM access.org_grants WHERE role_name = %s AND org_id = %s AND (%s::text IS NULL OR privilege = %s)",
        (role, org, privilege, privilege),
    ).rowcount


def list_grants(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("access/list_grants")).fetchall()
