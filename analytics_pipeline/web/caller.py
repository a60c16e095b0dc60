"""The one step every admin route and the dashboard take before reading: find who is calling,
then act as their role in a transaction (row-level security decides every row from there).
A client that keeps presenting bad credentials is slowed (auth.FailureThrottle)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from starlette.requests import Request

from analytics_pipeline.config import JwtSettings
from analytics_pipeline.web.auth import FailureThrottle, Principal, admin_principal, principal_for
from analytics_pipeline.web.database import STATEMENT_TIMEOUT, act_as, unavailable_as_503
from analytics_pipeline.web.errors import ApiError


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Callers:
    def __init__(self, pool, jwt: JwtSettings, throttle: FailureThrottle):
        self.pool, self.jwt, self.throttle = pool, jwt, throttle

    @asynccontextmanager
    async def _checked(self, request: Request) -> AsyncIterator[None]:
        """A 401 counts against the client; past the limit it is a 429 before any lookup."""
        client = client_address(request)
        self.throttle.check(client)
        try:
            yield
        except ApiError as exc:
            if exc.status == 401:
                self.throttle.failed(client)
            raise

    @asynccontextmanager
    async def acting(
        self, request: Request, timeout: str = STATEMENT_TIMEOUT
    ) -> AsyncIterator[tuple[psycopg.AsyncConnection, Principal]]:
        """The request's caller (bearer token, JWT or dashboard session), and a connection
        whose transaction acts as their role."""
        async with unavailable_as_503(), self.pool.connection() as conn:
            async with self._checked(request):
                principal = await admin_principal(conn, request, self.jwt)
                await act_as(conn, principal.role, timeout)
            yield conn, principal

    async def signing_in(self, request: Request, token: str) -> Principal:
        """The caller a token typed into the sign-in form names, once PostgreSQL lets the web
        app act as their role."""
        async with unavailable_as_503(), self.pool.connection() as conn, self._checked(request):
            principal = await principal_for(conn, token, self.jwt)
            await act_as(conn, principal.role)
        return principal
