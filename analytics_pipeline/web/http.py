"""What every route does with a request and a landing: read a body within its limit (as JSON),
tell its content type, land a batch durably."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from analytics_pipeline.ingestion.contract import MAX_NESTING, nested_deeper_than
from analytics_pipeline.web.errors import ApiError
from analytics_pipeline.web.screening import land


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (never read whole first)."""
    too_large = ApiError(413, f"request body is over the {limit}-byte limit")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def json_body(request: Request, limit: int, depth: int, what: str) -> Any:
    """The body as JSON, read within `limit` bytes; 400 for one that is not JSON or that nests
    `what` (an event, a statement) deeper than `depth` levels."""
    try:
        payload = orjson.loads(await read_body(request, limit))
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from None
    if nested_deeper_than(payload, depth):
        raise ApiError(400, f"{what} is nested deeper than {MAX_NESTING} levels")
    return payload


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def persist(root: Path, received_at: datetime, lines: list[bytes], batch_id: str | None = None) -> None:
    """Land `lines` as one batch file. Not on disk, not acknowledged: a 503, and the client
    keeps the events and retries."""
    try:
        await run_in_threadpool(land, root, received_at, lines, batch_id)
    except OSError as exc:
        raise ApiError(
            503, f"could not persist the batch ({exc.strerror or exc}); retry later", {"Retry-After": "5"}
        ) from exc
