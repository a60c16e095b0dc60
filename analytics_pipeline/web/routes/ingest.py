"""The ingestion routes, for callers holding a write key:

- `POST /api/analytics/events/batch` with `{"events": [...]}`, and `POST /api/analytics/events`
  with one event: each event answered accepted, duplicate or failed with a reason; the accepted
  ones are landed as one batch file before the answer.
- `GET /api/health`: ingest lag and mart freshness (no credential: operators' probes).
- `GET /metrics`: Prometheus text (no credential: the scraper's): the collector's counters and
  the pipeline's health gauges (web/pipeline_metrics.py).
- `GET /api/analytics/openapi.json`: these routes and the xAPI ones, described
  (web/openapi_ingest.yaml).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.web.auth import write_key
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.http import content_type, persist, read_body
from analytics_pipeline.web.pipeline_metrics import OUTCOMES
from analytics_pipeline.web.screening import OrgBinding, Screened, candidate_ids, screen
from analytics_pipeline.web.services import services

log = logging.getLogger("analytics_pipeline.collector")
# navigator.sendBeacon posts a string as text/plain: the same JSON, another label.
BODY_TYPES = ("application/json", "text/plain")


def batch_events(payload) -> list:
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ApiError(400, 'expected a JSON object {"events": [...]}')
    return events


def one_event(payload) -> list:
    if not isinstance(payload, dict):
        raise ApiError(400, "expected one event, a JSON object")
    return [payload]


async def accept(request: Request, parse_events: Callable[[object], list]) -> Screened:
    shared = services(request)
    config, kind = shared.config, content_type(request)
    async with unavailable_as_503(), shared.pool.connection() as conn:
        key = await write_key(conn, request, allow_query=kind == "text/plain")
    shared.limiter.take(key.key_id)
    if kind not in BODY_TYPES:
        raise ApiError(415, f"content type must be application/json (or text/plain), not {kind!r}")
    # The body is read with no database connection held: a slow client ties up none.
    try:
        payload = orjson.loads(await read_body(request, config.max_batch_bytes))
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from None
    events = parse_events(payload)
    if len(events) > config.max_events:
        raise ApiError(413, f"batch has {len(events)} events; the limit is {config.max_events}")
    async with unavailable_as_503(), shared.pool.connection() as conn:
        rows = await (await conn.execute("SELECT * FROM web.known_event_ids(%s)", (candidate_ids(events),))).fetchall()
    binding = OrgBinding(key.org_id) if key.org_id else None
    received_at = datetime.now(UTC)
    screened = screen(events, received_at, {str(row[0]) for row in rows}, binding)
    if screened.lines:
        await persist(config.landing, received_at, screened.lines)
    return screened


def counted(handle: Callable[[Request], Awaitable[tuple[Response, dict[str, int]]]]):
    """A posting handler whose every answer is counted and logged by its status, and its
    events by outcome (`handle` returns the response and {outcome: count}): a failure the
    handler did not expect is a 500, never counted as answered."""

    async def post(request: Request) -> Response:
        metrics = services(request).metrics
        started = time.perf_counter()
        status, counts = 200, {}
        try:
            response, counts = await handle(request)
            for outcome, count in counts.items():
                metrics.events.labels(outcome).inc(count)
            return response
        except ApiError as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            raise
        finally:
            metrics.requests.labels(str(status)).inc()
            metrics.latency.observe(time.perf_counter() - started)
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(orjson.dumps({"event": "batch", "status": status, **counts, "ms": elapsed_ms}).decode())

    return post


def native(parse_events: Callable[[object], list]):
    """The handler of a native route: events screened, the accepted ones landed, each answered."""

    async def handle(request: Request) -> tuple[Response, dict[str, int]]:
        screened = await accept(request, parse_events)
        return json_response(screened.answer()), {outcome: len(getattr(screened, outcome)) for outcome in OUTCOMES}

    return handle


async def health(request: Request) -> Response:
    async with unavailable_as_503():
        current = await services(request).status.current()
    fresh, lag = current.freshness, current.lag
    return json_response(
        {
            "status": "ok",
            "ingest_lag_seconds": round(lag.lag_seconds, 1),
            "pending_files": lag.pending_files,
            "marts_fresh_as_of": fresh.data_fresh_as_of.isoformat() if fresh.data_fresh_as_of else None,
            "marts_age_seconds": round(fresh.age_seconds, 1) if fresh.age_seconds is not None else None,
            "marts_behind": fresh.behind,
        }
    )


async def metrics(request: Request) -> Response:
    shared = services(request)
    try:
        async with unavailable_as_503():
            current = await shared.status.current()
    except ApiError:
        current = None  # the collector's own counters are still worth a scrape
    return Response(shared.metrics.scrape(current), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return json_response(services(request).ingest_spec)


routes = [
    Route("/api/analytics/openapi.json", openapi, methods=["GET"]),
    Route("/api/analytics/events/batch", counted(native(batch_events)), methods=["POST"]),
    Route("/api/analytics/events", counted(native(one_event)), methods=["POST"]),
    Route("/api/health", health, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
