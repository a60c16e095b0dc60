"""Bearer tokens for the admin API and write keys for the ingestion routes.

A credential is `<prefix>_<id>_<secret>`: the id names it in listings and revocations, the
secret is 32 random bytes. Only the SHA-256 digest of the whole string is stored (a secret of
that strength needs no slow hash), so a credential is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from analytics_pipeline.db.sqlfiles import load_sql

TOKEN_PREFIX = "apt"
WRITE_KEY_PREFIX = "apw"
DEFAULT_TOKEN_LIFETIME = timedelta(days=30)
# A token is a bearer credential: whoever holds it is its role until it ends, so it is renewed
# at least yearly.
MAX_TOKEN_LIFETIME = timedelta(days=366)
# What a credential looks like; anything else is refused before the database is asked.
_SHAPE = re.compile(r"^(apt|apw)_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()


def well_formed(credential: str, prefix: str) -> bool:
    found = _SHAPE.match(credential)
    return bool(found) and found[1] == prefix


def _new(prefix: str) -> tuple[str, str]:
    """(id, credential)."""
    credential_id = secrets.token_hex(6)
    return credential_id, f"{prefix}_{credential_id}_{secrets.token_urlsafe(32)}"


def parse_lifetime(text: str) -> timedelta:
    """A token's lifetime: `30d`, `12h`, `90m`, `2w`, up to MAX_TOKEN_LIFETIME."""
    found = _DURATION.match(text.strip())
    if not found or int(found[1]) == 0:
        raise ValueError(f"a lifetime is a positive number and a unit (m, h, d, w), like 30d, not {text!r}")
    seconds = int(found[1]) * _UNIT_SECONDS[found[2]]
    if seconds > MAX_TOKEN_LIFETIME.total_seconds():
        raise ValueError(f"a token lives {MAX_TOKEN_LIFETIME.days} days at most, not {text!r}")
    return timedelta(seconds=seconds)


def require_actable(conn: psycopg.Connection, role: str) -> None:
    """Only a role `access create-role` made may be named by a credential or the CLI: the one
    definition is web.may_act_as (the registry access.analytics_roles)."""
    if not conn.execute("SELECT web.may_act_as(%s)", (role,)).fetchone()[0]:
        raise ValueError(
            f"role {role!r} is not a tenant or platform-admin role made by `access create-role`: "
            "only those may be named"
        )


def allow_web_to_act_as(conn: psycopg.Connection, role: str) -> None:
    """The web login role may SET ROLE to a role `access create-role` made (and to nothing
    else): checked here, enforced by PostgreSQL's membership rules and web.may_act_as."""
    require_actable(conn, role)
    conn.execute(sql.SQL("GRANT {} TO analytics_web").format(sql.Identifier(role)))


@dataclass(frozen=True)
class NewToken:
    token_id: str
    token: str
    role: str
    expires_at: datetime


def create_token(
    conn: psycopg.Connection, role: str, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME, label: str | None = None
) -> NewToken:
    allow_web_to_act_as(conn, role)
    token_id, token = _new(TOKEN_PREFIX)
    expires_at = datetime.now(UTC) + lifetime
    conn.execute(
        load_sql("access/insert_token"),
        {"token_id": token_id, "token_hash": digest(token), "role": role, "label": label, "expires_at": expires_at},
    )
    return NewToken(token_id, token, role, expires_at)


def list_tokens(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("access/list_tokens")).fetchall()


def revoke_token(conn: psycopg.Connection, token_or_id: str) -> int:
    """Revoke by the token itself or by its id; returns how many were revoked now."""
    return conn.execute(
        load_sql("access/revoke_token"), {"token": token_or_id, "token_hash": digest(token_or_id)}
    ).rowcount


@dataclass(frozen=True)
class NewWriteKey:
    key_id: str
    key: str
    org_id: str | None


def create_write_key(conn: psycopg.Connection, label: str, org: str | None = None) -> NewWriteKey:
    """A key for the ingestion routes; bound to `org`, it lands that org's events or none, so
    the org must be in the organizations snapshot: events of a key bound to a mistyped org
    would all be dead-lettered, and no replay could move them."""
    if (
        org is not None
        and not conn.execute("SELECT EXISTS (SELECT FROM raw.organizations WHERE org_id = %s)", (org,)).fetchone()[0]
    ):
        raise ValueError(f"no org {org!r} in the organizations snapshot: check the id, or load the snapshot first")
    key_id, key = _new(WRITE_KEY_PREFIX)
    conn.execute(
        load_sql("access/insert_write_key"), {"key_id": key_id, "key_hash": digest(key), "label": label, "org": org}
    )
    return NewWriteKey(key_id, key, org)


def list_write_keys(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("access/list_write_keys")).fetchall()


def revoke_write_key(conn: psycopg.Connection, key_or_id: str) -> int:
    return conn.execute(load_sql("access/revoke_write_key"), {"key": key_or_id, "key_hash": digest(key_or_id)}).rowcount
