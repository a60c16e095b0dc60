"""The tracker's browser bundle (clients/js, built into the package, so no Node is needed at
run time), for LMS pages on any origin to load:

- `GET /sdk/tracker.js`: the current version, cached briefly;
- `GET /sdk/tracker-<version>.js`: that version, cached for good (immutable).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.web.errors import ApiError

SDK = Path(__file__).resolve().parents[1] / "sdk"
CURRENT_CACHE = "public, max-age=300"
VERSIONED_CACHE = "public, max-age=31536000, immutable"


@cache
def bundle() -> tuple[bytes, str]:
    """The bundle and its version, as `npm run build` in clients/js wrote them."""
    return (SDK / "tracker.js").read_bytes(), json.loads((SDK / "tracker.json").read_text())["version"]


def javascript(body: bytes, cache_control: str) -> Response:
    # Cross-origin: the LMS's pages embed the bundle from the platform's host.
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": cache_control, "Cross-Origin-Resource-Policy": "cross-origin"},
    )


async def current(request: Request) -> Response:
    return javascript(bundle()[0], CURRENT_CACHE)


async def versioned(request: Request) -> Response:
    body, version = bundle()
    if request.path_params["version"] != version:
        raise ApiError(404, f"this server serves tracker {version}, at /sdk/tracker-{version}.js")
    return javascript(body, VERSIONED_CACHE)


routes = [
    Route("/sdk/tracker.js", current, methods=["GET"]),
    Route("/sdk/tracker-{version}.js", versioned, methods=["GET"]),
]
