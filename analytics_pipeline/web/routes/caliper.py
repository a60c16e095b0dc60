"""The Caliper endpoint, for LMSs that emit IMS Caliper (Canvas, D2L, Blackboard, Open edX's
Caliper backend), with the ingestion write keys (`Authorization: Bearer KEY`, as Caliper
sensors send it):

- `POST /caliper`: a Caliper envelope (`sensor`, `sendTime`, `dataVersion` 1.1 or 1.2, `data`),
  a JSON array of envelopes, or one bare event; 200 with how many events were landed and how
  many were repeats, once they are landed durably.

Every event is landed as it came, one per line of a `<batch>.caliper.ndjson` file, stamped
(in its `extensions`) with when it was received and the org of a bound write key; ingestion
maps it onto the event contract or dead-letters it on its own (ingestion/caliper/mapping.py),
so an event no rule covers never takes the rest of the envelope down. Caliper has no conflict
status: an event id landed before, with the same content or not, is a repeat and is not landed
again; one with other content is also counted in `/metrics`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.ingestion.caliper.envelope import NotCaliper, events_in
from analytics_pipeline.ingestion.caliper.mapping import (
    KEY_ORG_EXTENSION,
    ORG_EXTENSION,
    RECEIVED_EXTENSION,
    event_id,
)
from analytics_pipeline.ingestion.contract import MAX_NESTING
from analytics_pipeline.ingestion.landing import CALIPER_MARK
from analytics_pipeline.ingestion.xapi.statements import statement_digest
from analytics_pipeline.web.auth import write_key
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.http import content_type, json_body, persist
from analytics_pipeline.web.routes.ingest import counted
from analytics_pipeline.web.services import services

# An array of envelopes holds its events two levels deeper than a bare event.
ENVELOPE_LEVELS = 3


def _stamped(event: Any, received_at: str, org: str | None) -> Any:
    """The event as landed: when it was received, and a bound key's org (which makes the org
    final); a client's own value of either is never kept."""
    if not isinstance(event, dict):
        return event
    extensions = event.get("extensions") if isinstance(event.get("extensions"), dict) else {}
    extensions = {name: value for name, value in extensions.items() if name != KEY_ORG_EXTENSION}
    extensions[RECEIVED_EXTENSION] = received_at
    if org is not None:
        extensions[KEY_ORG_EXTENSION] = org
    return {**event, "extensions": extensions}


def _claimed_org(event: Any) -> Any:
    extensions = event.get("extensions") if isinstance(event, dict) else None
    return extensions.get(ORG_EXTENSION) if isinstance(extensions, dict) else None


def _first_of_each_id(events: list[Any], digests: list[bytes]) -> tuple[list[Any], list[tuple[str, bytes]]]:
    """The events without repeats of an id inside the request, and (id, digest) of each event
    with an id to record."""
    kept, recorded, seen = [], [], set()
    for event, digest in zip(events, digests):
        found = event_id(event.get("id")) if isinstance(event, dict) else None
        if found in seen:
            continue
        if found is not None:
            seen.add(found)
            recorded.append((found, digest))
        kept.append(event)
    return kept, recorded


async def receive(request: Request) -> tuple[Response, dict[str, int]]:
    shared = services(request)
    config = shared.config
    async with unavailable_as_503(), shared.pool.connection() as conn:
        key = await write_key(conn, request)
    shared.limiter.take(key.key_id)
    if (kind := content_type(request)) != "application/json":
        raise ApiError(415, f"Caliper is posted as application/json, not {kind!r}")
    payload = await json_body(request, config.max_batch_bytes, MAX_NESTING + ENVELOPE_LEVELS, "an event")
    try:
        events = events_in(payload)
    except NotCaliper as exc:
        raise ApiError(400, str(exc)) from None
    if len(events) > config.max_events:
        raise ApiError(413, f"{len(events)} events; the limit is {config.max_events}")
    if key.org_id:
        for index, event in enumerate(events):
            if (claimed := _claimed_org(event)) is not None and claimed != key.org_id:
                raise ApiError(403, f"event {index}: this write key lands events of org {key.org_id!r} only")
    digests = [statement_digest(event, config.pii_key) for event in events]
    kept, recorded = _first_of_each_id(events, digests)
    async with unavailable_as_503(), shared.pool.connection() as conn, conn.transaction():
        rows = await (
            await conn.execute(
                "SELECT * FROM web.record_statements(%s, %s)",
                ([found for found, _ in recorded], [digest for _, digest in recorded]),
            )
        ).fetchall()
        landed_before = {str(found) for found, _, repeated in rows if repeated}
        reused = sum(1 for _, conflict, repeated in rows if repeated and conflict)
        received_at = datetime.now(UTC)
        stamp = received_at.isoformat().replace("+00:00", "Z")
        lines = [
            orjson.dumps(_stamped(event, stamp, key.org_id))
            for event in kept
            if not (isinstance(event, dict) and event_id(event.get("id")) in landed_before)
        ]
        if lines:
            await persist(config.landing, received_at, lines, f"{uuid.uuid4()}{CALIPER_MARK}")
    shared.metrics.reused_ids.inc(reused)
    counts = {"accepted": len(lines), "duplicates": len(events) - len(lines)}
    return json_response({"landed": len(lines), "duplicates": counts["duplicates"]}), counts


routes = [Route("/caliper", counted(receive), methods=["POST"])]
