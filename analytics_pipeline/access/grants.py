"""Manage tenant roles and their org grants (access.org_grants); RLS does the rest."""

from __future__ import annotations

import re
from functools import partial

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from analytics_pipeline.access.credentials import allow_web_to_act_as
from analytics_pipeline.db.server_roles import again_if_another_database_came_first
from analytics_pipeline.db.sqlfiles import load_sql

PRIVILEGES = ("tenant", "org_admin")
# Roles no credential may name, whatever asks: the groups, the web app's login, PostgreSQL's own.
RESERVED_ROLES = ("analytics_tenant", "analytics_platform_admin", "analytics_web", "public")
# What a role's name may be: an identifier PostgreSQL keeps whole (63 bytes at most).
ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")


def _check_new_role(conn: psycopg.Connection, role: str) -> None:
    """Refuse, before anything is granted, a role that may not become a tenant or platform
    admin: a reserved name, PostgreSQL's own roles, the owner, a superuser, or a role that may
    create roles or bypass row-level security."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"role {role!r} is not a name: letters, digits, _, $ or -, 63 at most, not a digit first")
    if role.lower() in RESERVED_ROLES or role.lower().startswith("pg_"):
        raise ValueError(f"role {role!r} is reserved: choose another name")
    row = conn.execute(load_sql("access/role_beyond_tenant"), {"role": role}).fetchone()
    if row and row[0]:
        raise ValueError(f"role {role!r} holds privileges beyond a tenant's (or owns the database): choose another")


def ensure_role(
    conn: psycopg.Connection,
    role: str,
    *,
    login: bool = False,
    password: str | None = None,
    platform_admin: bool = False,
) -> None:
    """Create the role if missing (LOGIN or NOLOGIN as asked), make it a member of the group
    that holds the SELECT privileges, record it as one credentials may name, and let the web
    app act as it. Checked first: a refused role is left as it was."""
    _check_new_role(conn, role)
    again_if_another_database_came_first(
        partial(_ensure_role_once, conn, role, login=login, password=password, platform_admin=platform_admin)
    )


def _ensure_role_once(
    conn: psycopg.Connection, role: str, *, login: bool, password: str | None, platform_admin: bool
) -> None:
    # One call at a time on this database, in one transaction: two calls for a new role would
    # both find it missing, and the second CREATE ROLE fail on its name.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('analytics_pipeline.ensure_role'))")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(role), sql.SQL("LOGIN" if login else "NOLOGIN"))
            )
        if password is not None:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        group = "analytics_platform_admin" if platform_admin else "analytics_tenant"
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role)))
        conn.execute(
            load_sql("access/register_role"), {"role": role, "kind": "platform_admin" if platform_admin else "tenant"}
        )
        allow_web_to_act_as(conn, role)


def grant(conn: psycopg.Connection, role: str, org: str, privilege: str = "tenant") -> None:
    if privilege not in PRIVILEGES:
        raise ValueError(f"privilege must be one of {PRIVILEGES}, not {privilege!r}")
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        raise ValueError(f"role {role!r} does not exist: create it first (access create-role)")
    conn.execute(load_sql("access/grant"), {"role": role, "org": org, "privilege": privilege})


def revoke(conn: psycopg.Connection, role: str, org: str, privilege: str | None = None) -> int:
    """Returns how many grants were removed (all privileges when none is named)."""
    return conn.execute(load_sql("access/revoke_grants"), {"role": role, "org": org, "privilege": privilege}).rowcount


def list_grants(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("access/list_grants")).fetchall()
