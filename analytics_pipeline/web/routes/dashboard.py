"""The org dashboard at `/`, behind a sign-in page that takes an admin token and opens a
server-side session: the cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) holds an opaque
random id, the database its digest. A session ends after it sits idle, at its absolute
lifetime, at sign-out, and when the token it was opened with is revoked or expires. Sign-in
and sign-out refuse posts from other sites. The page itself draws what the admin API returns."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from analytics_pipeline.access.credentials import digest
from analytics_pipeline.web.auth import SESSION_COOKIE, session_principal
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError
from analytics_pipeline.web.http import read_body
from analytics_pipeline.web.services import services

MAX_FORM_BYTES = 8 * 1024
# What a browser's own navigation says of where a post comes from (Fetch Metadata).
SAME_SITE_FETCHES = ("same-origin", "none")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refuse_cross_site(request: Request, config: WebConfig) -> None:
    """403 for a post another site's page made: by Sec-Fetch-Site where the browser sends it,
    else by Origin against this app's own (the public URL's, else the request's). A client
    that sends neither header is no browser, and has no session cookie to abuse."""
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if fetch_site is not None:
        allowed = fetch_site.lower() in SAME_SITE_FETCHES
    elif origin is not None:
        own = {origin_of(str(request.base_url))} | ({origin_of(config.public_url)} if config.public_url else set())
        allowed = origin.lower() in own
    else:
        allowed = True
    if not allowed:
        raise ApiError(403, "cross-site request refused: sign in and out from this site's own pages")


def secure(request: Request) -> bool:
    return services(request).config.https or request.url.scheme == "https"


async def signed_in(request: Request, template: str) -> Response:
    """A page for a signed-in caller; anyone else goes to the sign-in form."""
    shared = services(request)
    async with unavailable_as_503(), shared.pool.connection() as conn, conn.transaction():
        principal = await session_principal(conn, request.cookies.get(SESSION_COOKIE))
    if principal is None:
        response = RedirectResponse(request.url_for("login"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return shared.templates.TemplateResponse(request, template, {})


async def page(request: Request) -> Response:
    return await signed_in(request, "dashboard.html")


async def overview(request: Request) -> Response:
    """Every org the caller may see, with its headline figures: a platform admin's view."""
    return await signed_in(request, "overview.html")


async def login_form(request: Request) -> Response:
    return services(request).templates.TemplateResponse(request, "login.html", {"error": None})


async def login(request: Request) -> Response:
    shared = services(request)
    config = shared.config
    refuse_cross_site(request, config)
    form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        principal = await shared.callers.signing_in(request, token)
    except ApiError as exc:
        if exc.status != 401:
            raise
        return shared.templates.TemplateResponse(
            request, "login.html", {"error": f"Sign-in failed: {exc.reason}."}, status_code=401
        )
    session_id = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(seconds=config.session_max_seconds)
    if principal.expires_at is not None:
        expires_at = min(expires_at, principal.expires_at)
    async with unavailable_as_503(), shared.pool.connection() as conn, conn.transaction():
        await conn.execute(
            "SELECT web.start_session(%s, %s, %s, %s, %s, %s)",
            (
                digest(session_id),
                principal.role,
                principal.credential,
                principal.token_id,
                config.session_idle_seconds,
                expires_at,
            ),
        )
    response = RedirectResponse(request.url_for("page"), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max(1, math.ceil((expires_at - datetime.now(UTC)).total_seconds())),
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    shared = services(request)
    refuse_cross_site(request, shared.config)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and len(session_id) <= 100:
        async with unavailable_as_503(), shared.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT web.end_session(%s)", (digest(session_id),))
    response = RedirectResponse(request.url_for("login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure(request), httponly=True, samesite="strict")
    return response


routes = [
    Route("/", page, methods=["GET"], name="page"),
    Route("/overview", overview, methods=["GET"], name="overview_page"),
    Route("/login", login_form, methods=["GET"], name="login_form"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
