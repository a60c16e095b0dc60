"""The statements resource of a Learning Record Store, for LMS clients that emit xAPI, with
the ingestion write keys (Basic or Bearer):

- `POST /xAPI/statements`: one statement or an array; 200 with their ids, in order (an id is
  assigned to a statement without one).
- `PUT /xAPI/statements?statementId=ID`: one statement under that id; 204.
- `GET /xAPI/about`: the xAPI versions spoken.

A request is stored whole or not at all: an invalid statement (400, with its index), an id
stored before with a different statement (409) or a statement for another org (403) stores
nothing. A repeated identical statement is acknowledged and not landed again. Statements are
landed, with `stored` stamped, as one `<batch>.xapi.ndjson` file, fsynced before the answer;
ingestion maps them onto the event contract (ingestion/xapi/mapping.py).
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.ingestion.contract import Rejection
from analytics_pipeline.ingestion.landing import XAPI_MARK
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.xapi.mapping import ORG_EXTENSION, to_event
from analytics_pipeline.ingestion.xapi.statements import InvalidStatement, check_statement, is_uuid, statement_digest
from analytics_pipeline.web.auth import RateLimiter, write_key
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.ingest_routes import content_type, persist, read_body
from analytics_pipeline.web.screening import org_binding

log = logging.getLogger("analytics_pipeline.xapi")
VERSION_HEADER = "X-Experience-API-Version"
# The version a response names, by the major version the request spoke.
ANSWER_VERSIONS = {"1": "1.0.3", "2": "2.0.0"}
_REQUEST_VERSION = re.compile(r"^(1\.0(\.\d+)?|2\.0\.0)$")


def _version(request: Request) -> str:
    spoken = request.headers.get(VERSION_HEADER, "").strip()
    if not _REQUEST_VERSION.match(spoken):
        raise ApiError(
            400,
            f"the {VERSION_HEADER} header must name xAPI 1.0.x or 2.0.0"
            + (f", not {spoken[:20]!r}" if spoken else "; it is missing"),
            {VERSION_HEADER: ANSWER_VERSIONS["1"]},
        )
    return ANSWER_VERSIONS[spoken[0]]


def _statements(payload, statement_id: str | None) -> list[dict]:
    """The request's statements, each valid and with its id; InvalidStatement names the first
    that is not, by index."""
    if statement_id is not None:
        if not isinstance(payload, dict):
            raise InvalidStatement("PUT takes one statement, a JSON object")
        if payload.get("id", statement_id) != statement_id:
            raise InvalidStatement("id: differs from the statementId parameter")
        payload = {**payload, "id": statement_id}
    listed = payload if isinstance(payload, list) else [payload]
    statements = []
    for index, value in enumerate(listed):
        try:
            statement = check_statement(value)
        except InvalidStatement as exc:
            raise InvalidStatement(f"statement {index}: {exc}" if isinstance(payload, list) else str(exc)) from None
        statements.append(statement if "id" in statement else {"id": str(uuid.uuid4()), **statement})
    ids = [s["id"].lower() for s in statements]
    if len(set(ids)) != len(ids):
        raise InvalidStatement("the request holds two statements with the same id")
    return statements


def _statement_id(request: Request) -> str:
    value = request.query_params.get("statementId", "")
    if not is_uuid(value):
        raise ApiError(400, "PUT needs a statementId parameter holding a UUID")
    return value


def _with_org(statement: dict, org: str) -> dict:
    """The statement with the write key's org stamped into its context, as `orgId` would be."""
    context = statement.get("context") or {}
    extensions = {**(context.get("extensions") or {}), ORG_EXTENSION: org}
    return {**statement, "context": {**context, "extensions": extensions}}


def xapi_routes(config: WebConfig, pool) -> list[Route]:
    limiter = RateLimiter(config.write_key_rate)
    tokenizer = Tokenizer(config.pii_key)

    async def store(request: Request, *, put: bool) -> tuple[list[str], str]:
        async with unavailable_as_503(), pool.connection() as conn:
            key = await write_key(conn, request)
        limiter.take(key.key_id)
        version = _version(request)
        statement_id = _statement_id(request) if put else None
        if (kind := content_type(request)) != "application/json":
            raise ApiError(415, f"statements are posted as application/json, not {kind!r} (no attachments)")
        try:
            payload = orjson.loads(await read_body(request, config.max_batch_bytes))
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON: {exc}") from None
        try:
            statements = _statements(payload, statement_id)
        except InvalidStatement as exc:
            raise ApiError(400, str(exc)) from None
        if len(statements) > config.max_events:
            raise ApiError(413, f"{len(statements)} statements; the limit is {config.max_events}")
        digests = [statement_digest(s, config.pii_key) for s in statements]
        # Only a key bound to an org needs the events the statements map to.
        events = [to_event(s) for s in statements] if key.org_id else []
        async with unavailable_as_503(), pool.connection() as conn, conn.transaction():
            binding = await org_binding(conn, key.org_id, tokenizer, [e for e in events if isinstance(e, dict)])
            if binding:
                for index, event in enumerate(events):
                    if not isinstance(event, Rejection) and (refusal := binding.refusal(event)):
                        raise ApiError(403, f"statement {index}: {refusal}")
                statements = [_with_org(s, binding.org) for s in statements]
            rows = await (
                await conn.execute(
                    "SELECT * FROM web.record_statements(%s, %s)", ([s["id"] for s in statements], digests)
                )
            ).fetchall()
            conflicts = [str(found) for found, conflict, _ in rows if conflict]
            if conflicts:
                raise ApiError(409, f"statement {conflicts[0]} was stored before with different content")
            repeated = {str(found) for found, _, was_stored in rows if was_stored}
            received_at = datetime.now(UTC)
            stored = received_at.isoformat().replace("+00:00", "Z")
            lines = [orjson.dumps({**s, "stored": stored}) for s in statements if s["id"].lower() not in repeated]
            if lines:
                await persist(config.landing, received_at, lines, f"{uuid.uuid4()}{XAPI_MARK}")
        log.info(orjson.dumps({"event": "statements", "stored": len(lines), "repeated": len(repeated)}).decode())
        return [s["id"] for s in statements], version

    async def post(request: Request) -> Response:
        ids, version = await store(request, put=False)
        return json_response(ids, headers={VERSION_HEADER: version})

    async def put(request: Request) -> Response:
        _, version = await store(request, put=True)
        return Response(status_code=204, headers={VERSION_HEADER: version})

    async def about(request: Request) -> Response:
        return json_response({"version": list(ANSWER_VERSIONS.values())}, headers={VERSION_HEADER: "1.0.3"})

    return [
        Route("/xAPI/statements", post, methods=["POST"]),
        Route("/xAPI/statements", put, methods=["PUT"]),
        Route("/xAPI/about", about, methods=["GET"]),
    ]
