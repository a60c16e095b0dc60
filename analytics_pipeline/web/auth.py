"""Who is calling: admin callers by bearer token (ours, or a JWT signed by the LMS) or, for the
dashboard's reads, by its session cookie; ingestion callers by write key. Credentials and
sessions are looked up by digest through the web.* functions; what a caller may then read is
decided by PostgreSQL, under the role its credential names."""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
import psycopg
from starlette.requests import Request

from analytics_pipeline.access.credentials import TOKEN_PREFIX, WRITE_KEY_PREFIX, digest, well_formed
from analytics_pipeline.access.grants import ROLE_NAME
from analytics_pipeline.config import JwtSettings
from analytics_pipeline.web.errors import ApiError

SESSION_COOKIE = "analytics_session"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="analytics"'}


def _unauthorized(reason: str) -> ApiError:
    return ApiError(401, reason, _CHALLENGE)


@dataclass(frozen=True)
class Principal:
    role: str
    credential: str  # what to name in logs: the token id or the JWT subject, never the secret
    token_id: str | None = None  # our token's id: revoking it ends the sessions it opened
    expires_at: datetime | None = None  # when the credential stops being valid


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return value.strip()


async def session_principal(conn: psycopg.AsyncConnection, session_id: str | None) -> Principal | None:
    """The caller of a live dashboard session (the cookie holds its id; the database its
    digest), seen now; None when there is none or it has ended."""
    if not session_id or len(session_id) > 100:
        return None
    row = await (await conn.execute("SELECT * FROM web.touch_session(%s)", (digest(session_id),))).fetchone()
    return Principal(row[0], row[1]) if row else None


def _decode_jwt(token: str, settings: JwtSettings) -> dict:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise _unauthorized("malformed token") from None
    keys = {"HS256": settings.hs256_secret, "RS256": settings.rs256_public_key}
    if not isinstance(algorithm, str) or not keys.get(algorithm):
        raise _unauthorized(f"tokens signed with {str(algorithm)[:40]!r} are not accepted here")
    try:
        return jwt.decode(
            token,
            keys[algorithm],
            algorithms=[algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options={"require": ["exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None


async def admin_principal(conn: psycopg.AsyncConnection, request: Request, settings: JwtSettings) -> Principal:
    """The bearer token's caller, or for the dashboard's own reads its session's. The cookie
    is SameSite=Strict and only read requests take it, so another site cannot act with it."""
    token = _bearer(request)
    if token is None and request.method in ("GET", "HEAD") and SESSION_COOKIE in request.cookies:
        principal = await session_principal(conn, request.cookies[SESSION_COOKIE])
        if principal is None:
            raise _unauthorized("the dashboard session has ended; sign in again")
        return principal
    return await principal_for(conn, token, settings)


async def principal_for(conn: psycopg.AsyncConnection, token: str | None, settings: JwtSettings) -> Principal:
    if not token:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    if well_formed(token, TOKEN_PREFIX):
        row = await (await conn.execute("SELECT * FROM web.find_token(%s)", (digest(token),))).fetchone()
        if row is None:
            raise _unauthorized("unknown token")
        token_id, role, expires_at, revoked_at = row
        if revoked_at is not None:
            raise _unauthorized("token revoked")
        if expires_at <= datetime.now(UTC):
            raise _unauthorized("token expired")
        return Principal(role, f"token {token_id}", token_id, expires_at)
    if token.count(".") == 2 and settings.enabled:
        claims = _decode_jwt(token, settings)
        role = claims.get(settings.role_claim)
        if not isinstance(role, str) or not ROLE_NAME.match(role):
            raise _unauthorized(f"the token has no {settings.role_claim!r} claim naming a role")
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        return Principal(role, f"jwt {str(claims.get('sub', '?'))[:80]}", expires_at=expires_at)
    raise _unauthorized("malformed token")


@dataclass(frozen=True)
class WriteKey:
    key_id: str
    org_id: str | None  # a bound key lands events of this org only


def _presented_write_key(request: Request, allow_query: bool) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _unauthorized("malformed Basic credentials") from None
            # LRS clients put the key in either half of Basic credentials.
            return user if well_formed(user, WRITE_KEY_PREFIX) else password
        raise _unauthorized("the Authorization header must be 'Bearer <write key>' or Basic")
    # navigator.sendBeacon cannot set headers: its posts carry the key in the query.
    return request.query_params.get("key") if allow_query else None


async def write_key(conn: psycopg.AsyncConnection, request: Request, allow_query: bool = False) -> WriteKey:
    key = _presented_write_key(request, allow_query)
    if not key:
        raise _unauthorized("missing write key (Authorization: Bearer <write key>)")
    if not well_formed(key, WRITE_KEY_PREFIX):
        raise _unauthorized("malformed write key")
    row = await (await conn.execute("SELECT * FROM web.find_write_key(%s)", (digest(key),))).fetchone()
    if row is None:
        raise _unauthorized("unknown write key")
    key_id, org_id, revoked_at = row
    if revoked_at is not None:
        raise _unauthorized("write key revoked")
    return WriteKey(key_id, org_id)


class RateLimiter:
    """A token bucket per write key, in this process: `rate` requests a second on average,
    bursts of twice that."""

    def __init__(self, rate: float):
        self.rate, self.burst = rate, max(1.0, 2 * rate)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise ApiError(
                    429,
                    f"rate limit of {self.rate:g} requests/s for this write key exceeded",
                    {"Retry-After": str(wait)},
                )
            self._buckets[key_id] = (tokens - 1, now)


class FailureThrottle:
    """Slows guessing: a client (by address) with `limit` failed sign-ins or bad tokens in
    `window` seconds is answered 429 until the oldest of them is that old."""

    MAX_CLIENTS = 10_000  # past this many, clients with no recent failure are forgotten

    def __init__(self, limit: int, window: float = 300.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        return [t for t in self._failures.get(client, ()) if now - t < self.window]

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
        if len(recent) >= self.limit:
            wait = max(1, math.ceil(self.window - (now - recent[0])))
            raise ApiError(429, "too many failed sign-ins from this client; wait and retry", {"Retry-After": str(wait)})

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.MAX_CLIENTS:
                self._failures = {c: kept for c in self._failures if (kept := self._recent(c, now))}
            self._failures[client] = [*self._recent(client, now), now]
