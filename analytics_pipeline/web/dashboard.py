"""The org dashboard at `/`, behind a sign-in page that takes an admin token and keeps it in
an HttpOnly, SameSite=Strict cookie. The page itself draws what the admin API returns."""

from __future__ import annotations

from importlib.resources import files
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from analytics_pipeline.web.auth import SESSION_COOKIE, principal_for
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.database import act_as, unavailable_as_503
from analytics_pipeline.web.errors import ApiError
from analytics_pipeline.web.ingest_routes import read_body

SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 8 * 1024


def dashboard_routes(config: WebConfig, pool) -> list[Route]:
    templates = Jinja2Templates(directory=str(files("analytics_pipeline") / "web" / "templates"))

    async def refusal(token: str | None) -> str | None:
        """Why a token cannot sign in (the reason of its 401), or None when it can."""
        try:
            async with unavailable_as_503(), pool.connection() as conn:
                await act_as(conn, (await principal_for(conn, token, config.jwt)).role)
        except ApiError as exc:
            if exc.status != 401:
                raise
            return exc.reason
        return None

    async def page(request: Request) -> Response:
        if await refusal(request.cookies.get(SESSION_COOKIE)) is not None:
            return RedirectResponse(request.url_for("login"), status_code=303)
        return templates.TemplateResponse(request, "dashboard.html", {})

    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"error": None})

    async def login(request: Request) -> Response:
        form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode(errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        reason = await refusal(token)
        if reason is not None:
            return templates.TemplateResponse(
                request, "login.html", {"error": f"Sign-in failed: {reason}."}, status_code=401
            )
        response = RedirectResponse(request.url_for("page"), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse(request.url_for("login"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route("/", page, methods=["GET"], name="page"),
        Route("/login", login_form, methods=["GET"], name="login_form"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
