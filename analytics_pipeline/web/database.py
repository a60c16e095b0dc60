"""Connections of the web process, all as the web login role, and the one way a request
reads tenant data: a transaction under `SET LOCAL ROLE` to the caller's role, so row-level
security decides every row the API, the dashboard and the exports return."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.web.errors import ApiError

# A dashboard's read returns in milliseconds; an export streams for as long as the client reads.
STATEMENT_TIMEOUT = "15s"
EXPORT_TIMEOUT = "30min"


def make_pool(url: str, size: int) -> AsyncConnectionPool:
    # check: a connection the server dropped (a restart) is replaced, not handed out.
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=size,
        open=False,
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": False},
    )


def role_switch(role: str, timeout: str = STATEMENT_TIMEOUT) -> sql.Composed:
    """The statements that put the open transaction under `role`, with a time limit."""
    return sql.SQL("SET LOCAL ROLE {}; SET LOCAL statement_timeout = {}").format(
        sql.Identifier(role), sql.Literal(timeout)
    )


async def act_as(conn: psycopg.AsyncConnection, role: str, timeout: str = STATEMENT_TIMEOUT) -> None:
    """Switch the open transaction to `role`, if it is one a credential may name (web.may_act_as,
    the one definition). PostgreSQL refuses a role the web role is not a member of; either way
    a role that cannot be used is the caller's problem (401), not the server's."""
    refused = ApiError(401, f"the credential names role {role[:80]!r}, which this service may not act as")
    async with conn.cursor() as cur:
        # One round trip; a refusal ends the request, and the transaction the switch was in.
        try:
            await cur.execute(
                sql.SQL("SELECT web.may_act_as({}); ").format(sql.Literal(role)) + role_switch(role, timeout)
            )
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidParameterValue):
            raise refused from None
        (allowed,) = await cur.fetchone()
    if not allowed:
        raise refused


async def fetch_all(conn: psycopg.AsyncConnection, query: str | sql.Composable, params: dict) -> list[dict]:
    """Rows as dicts; `query` is an sql/ file's name or a composed statement."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(load_sql(query) if isinstance(query, str) else query, params)
        return await cur.fetchall()


@asynccontextmanager
async def unavailable_as_503() -> AsyncIterator[None]:
    """A database that is down or restarting, or whose marts are not built yet, is a 503 the
    caller may retry."""
    try:
        yield
    except psycopg.errors.UndefinedTable as exc:
        raise ApiError(
            503, "the marts are not built yet; retry after the first pipeline run", {"Retry-After": "60"}
        ) from exc
    except (psycopg.OperationalError, psycopg.errors.QueryCanceled, PoolTimeout) as exc:
        raise ApiError(
            503, f"the analytics database is unavailable; retry later ({type(exc).__name__})", {"Retry-After": "5"}
        ) from exc
