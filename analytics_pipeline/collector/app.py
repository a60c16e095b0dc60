"""The collector's HTTP API (Starlette):

- `POST /api/analytics/events/batch` with `{"events": [...]}`: per event accepted, duplicate
  or failed with a reason; the accepted events are landed as one batch file before the answer.
- `GET /api/health`: ingest lag and mart freshness.
- `GET /metrics`: Prometheus text.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psycopg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics_pipeline.collector.batches import Screened, known_ids, land, screen
from analytics_pipeline.monitoring.figures import ingest_lag, mart_freshness

MAX_BATCH_BYTES = 1024 * 1024
MAX_EVENTS = 1000
log = logging.getLogger("analytics_pipeline.collector")


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def create_app(landing: Path, database_url: str, *, max_batch_bytes: int = MAX_BATCH_BYTES,
               max_events: int = MAX_EVENTS) -> Starlette:
    registry = CollectorRegistry()
    requests_total = Counter("collector_batch_requests", "Batch requests answered, by HTTP status",
                             ["status"], registry=registry)
    events_total = Counter("collector_events", "Events answered, by outcome", ["outcome"], registry=registry)
    latency = Histogram("collector_batch_seconds", "Time to answer a batch request", registry=registry)

    def screen_and_land(events: list) -> Screened:
        received_at = datetime.now(timezone.utc)
        with psycopg.connect(database_url, autocommit=True) as conn:
            screened = screen(events, received_at, known_ids(conn, events))
        if screened.lines:
            land(landing, received_at, screened.lines)
        return screened

    def answer(status: int, started: float, payload: dict, **counts) -> JSONResponse:
        requests_total.labels(str(status)).inc()
        latency.observe(time.perf_counter() - started)
        log.info(orjson.dumps({"event": "batch", "status": status, **counts,
                               "ms": round((time.perf_counter() - started) * 1000, 1)}).decode())
        return JSONResponse(payload, status_code=status)

    async def post_batch(request: Request) -> Response:
        started = time.perf_counter()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return answer(415, started, {"error": f"content type must be application/json, not {content_type!r}"})
        try:
            body = await _read_body(request, max_batch_bytes)
        except _TooLarge:
            return answer(413, started, {"error": f"batch is over the {max_batch_bytes}-byte limit"})
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return answer(400, started, {"error": f"invalid JSON: {exc}"})
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return answer(400, started, {"error": 'expected a JSON object {"events": [...]}'})
        if len(events) > max_events:
            return answer(413, started, {"error": f"batch has {len(events)} events; the limit is {max_events}"})
        try:
            screened = await run_in_threadpool(screen_and_land, events)
        except psycopg.OperationalError:
            # Without the ledger the answer could be wrong; the client retries later.
            return answer(503, started, {"error": "the event-id ledger is unreachable; retry later"})
        for outcome in ("accepted", "duplicates", "failed"):
            events_total.labels(outcome).inc(len(getattr(screened, outcome)))
        return answer(200, started, screened.answer(), accepted=len(screened.accepted),
                      duplicates=len(screened.duplicates), failed=len(screened.failed))

    def health_figures() -> dict:
        with psycopg.connect(database_url, autocommit=True) as conn:
            lag, fresh = ingest_lag(conn, landing), mart_freshness(conn)
        return {
            "status": "ok",
            "ingest_lag_seconds": round(lag.lag_seconds, 1),
            "pending_files": lag.pending_files,
            "marts_fresh_as_of": fresh.data_fresh_as_of.isoformat() if fresh.data_fresh_as_of else None,
            "marts_age_seconds": round(fresh.age_seconds, 1) if fresh.age_seconds is not None else None,
            "marts_behind": fresh.behind,
        }

    async def health(request: Request) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(health_figures))
        except psycopg.OperationalError as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc).strip()[:300]}, status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/api/analytics/events/batch", post_batch, methods=["POST"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ])
