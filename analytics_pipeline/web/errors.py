"""Every refusal is an ApiError: a status and a reason the caller can act on, as JSON."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response


class ApiError(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


def json_response(payload, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson, with numerics (PostgreSQL's numeric) as JSON numbers."""
    body = orjson.dumps(payload, default=float, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def api_error_handler(request: Request, exc: ApiError) -> Response:
    return json_response({"error": exc.reason}, exc.status, exc.headers)
