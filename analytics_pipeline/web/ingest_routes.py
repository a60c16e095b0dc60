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
from datetime import UTC, datetime
from importlib.resources import files

import orjson
import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.web.auth import RateLimiter, WriteKey, write_key
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.http import content_type, persist, read_body
from analytics_pipeline.web.pipeline_metrics import PipelineGauges
from analytics_pipeline.web.screening import OrgBinding, Screened, candidate_ids, screen
from analytics_pipeline.web.status import StatusCache

log = logging.getLogger("analytics_pipeline.collector")
# navigator.sendBeacon posts a string as text/plain: the same JSON, another label.
BODY_TYPES = ("application/json", "text/plain")
OUTCOMES = ("accepted", "duplicates", "failed")


def ingest_routes(config: WebConfig, pool, status: StatusCache, limiter: RateLimiter) -> list[Route]:
    registry = CollectorRegistry()
    requests_total = Counter(
        "collector_batch_requests", "Batch requests answered, by HTTP status", ["status"], registry=registry
    )
    events_total = Counter("collector_events", "Events answered, by outcome", ["outcome"], registry=registry)
    latency = Histogram("collector_batch_seconds", "Time to answer a batch request", registry=registry)
    # Series exist from the start, at 0: rates and the silent-collector alert need them.
    requests_total.labels("200")
    for outcome in OUTCOMES:
        events_total.labels(outcome)
    pipeline = PipelineGauges(registry)
    spec = yaml.safe_load((files("analytics_pipeline") / "web" / "openapi_ingest.yaml").read_text())

    async def accept(request: Request, parse_events) -> tuple[Screened, WriteKey]:
        kind = content_type(request)
        async with unavailable_as_503(), pool.connection() as conn:
            key = await write_key(conn, request, allow_query=kind == "text/plain")
        limiter.take(key.key_id)
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
        async with unavailable_as_503(), pool.connection() as conn:
            ids = candidate_ids(events)
            rows = await (await conn.execute("SELECT * FROM web.known_event_ids(%s)", (ids,))).fetchall()
        binding = OrgBinding(key.org_id) if key.org_id else None
        received_at = datetime.now(UTC)
        screened = screen(events, received_at, {str(row[0]) for row in rows}, binding)
        if screened.lines:
            await persist(config.landing, received_at, screened.lines)
        return screened, key

    def batch_events(payload) -> list:
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            raise ApiError(400, 'expected a JSON object {"events": [...]}')
        return events

    def one_event(payload) -> list:
        if not isinstance(payload, dict):
            raise ApiError(400, "expected one event, a JSON object")
        return [payload]

    def endpoint(parse_events):
        async def post(request: Request) -> Response:
            started = time.perf_counter()
            status, counts = 200, {}
            try:
                screened, _ = await accept(request, parse_events)
                for outcome in OUTCOMES:
                    counts[outcome] = len(getattr(screened, outcome))
                    events_total.labels(outcome).inc(counts[outcome])
                return json_response(screened.answer())
            except ApiError as exc:
                status = exc.status
                raise
            except Exception:
                status = 500  # never counted, nor logged, as answered
                raise
            finally:
                requests_total.labels(str(status)).inc()
                latency.observe(time.perf_counter() - started)
                log.info(
                    orjson.dumps(
                        {
                            "event": "batch",
                            "status": status,
                            **counts,
                            "ms": round((time.perf_counter() - started) * 1000, 1),
                        }
                    ).decode()
                )

        return post

    async def health(request: Request) -> Response:
        async with unavailable_as_503():
            current = await status.current()
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
        try:
            async with unavailable_as_503():
                pipeline.update(await status.current())
        except ApiError:
            pipeline.update(None)  # the collector's own counters are still worth a scrape
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        return json_response(spec)

    return [
        Route("/api/analytics/openapi.json", openapi, methods=["GET"]),
        Route("/api/analytics/events/batch", endpoint(batch_events), methods=["POST"]),
        Route("/api/analytics/events", endpoint(one_event), methods=["POST"]),
        Route("/api/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
