"""The one web app: the parts named in the config (ingestion routes, admin API, dashboard),
their shared connection pool, and answers for every refusal as JSON with a reason."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.errors import ApiError, api_error_handler, json_response
from analytics_pipeline.web.routes import admin, caliper, dashboard, ingest, sdk, xapi
from analytics_pipeline.web.services import WEB, build_services

log = logging.getLogger("analytics_pipeline.web")
# The dashboard loads nothing from elsewhere; Chart.js ships in the package.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# Tenant figures, exports and the signed-in pages are kept by no cache, shared or the browser's.
PRIVATE_PATHS = ("/api/admin/", "/login", "/logout", "/overview")
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, `Cache-Control: no-store` to the private ones
    and HSTS to any served over HTTPS (plain ASGI: streamed exports pass untouched)."""

    def __init__(self, app, https: bool = False):
        self.app, self.https = app, https

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        private = path == "/" or path.startswith(PRIVATE_PATHS)
        https = self.https or scope.get("scheme") == "https"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if private:
                    headers["Cache-Control"] = "no-store"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def http_error(request: Request, exc: HTTPException) -> Response:
    return json_response({"error": exc.detail}, exc.status_code, getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_response({"error": "internal error; it has been logged"}, 500)


def create_app(config: WebConfig) -> Starlette:
    """The parts named in the config, over services built once (web/services.py) and handed to
    every request through the lifespan's state."""
    shared = build_services(config)
    routes = []
    if "ingest" in config.parts:
        routes += ingest.routes + xapi.routes + caliper.routes + sdk.routes
    if "admin" in config.parts:
        routes += admin.routes
    if "dashboard" in config.parts:
        routes += dashboard.routes
    if {"admin", "dashboard"} & set(config.parts):
        routes.append(Mount("/static", StaticFiles(directory=str(WEB / "static")), name="static"))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await shared.pool.open()
        try:
            yield {"services": shared}
        finally:
            await shared.pool.close()

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST", "PUT", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Experience-API-Version"],
                # A tracker on the LMS's page waits as long as a 429 or 503 asks.
                expose_headers=["Retry-After"],
            )
        )
    middleware.append(Middleware(SecurityHeaders, https=config.https))
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={ApiError: api_error_handler, HTTPException: http_error, Exception: unexpected_error},
    )
