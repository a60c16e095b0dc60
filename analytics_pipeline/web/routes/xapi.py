"""The statements resource of a Learning Record Store, for LMS clients that emit xAPI, with
the ingestion write keys (Basic or Bearer):

- `POST /xAPI/statements`: one statement or an array; 200 with their ids, in order (an id is
  assigned to a statement without one).
- `PUT /xAPI/statements?statementId=ID`: one statement under that id; 204.
- `GET /xAPI/about`: the xAPI versions spoken.

By default the resource is an analytics sink for real producers: a statement that breaks the
specification in a way a known producer does is repaired at ingestion (ingestion/xapi/repairs.py),
any other invalid statement is landed to be dead-lettered on its own (`invalid_statement`,
replayable), and the rest of the request lands. With ANALYTICS_XAPI_STRICT an invalid
statement is a 400 naming its index, and the request stores nothing. In both modes an id
stored before with a different statement (409) or a statement for another org (403) stores
nothing. A repeated identical statement is acknowledged and not landed again. Statements are
landed, with `stored` stamped, as one `<batch>.xapi.ndjson` file, fsynced before the answer;
ingestion maps them onto the event contract (ingestion/xapi/mapping.py).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from analytics_pipeline.ingestion.contract import MAX_NESTING, Rejection
from analytics_pipeline.ingestion.landing import XAPI_MARK
from analytics_pipeline.ingestion.xapi.mapping import (
    CONTENT_IDS,
    ORG_EXTENSION,
    key_org_authority,
    key_org_of,
    read_statement,
)
from analytics_pipeline.ingestion.xapi.statements import InvalidStatement, is_uuid, statement_digest
from analytics_pipeline.web.auth import write_key
from analytics_pipeline.web.database import unavailable_as_503
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.http import content_type, json_body, persist
from analytics_pipeline.web.services import services

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


@dataclass
class Posted:
    """One statement of a request as it will land: `valid` once it passed the specification
    (repaired as known producers need, in the default mode)."""

    value: Any
    statement_id: str
    valid: bool

    @property
    def recorded(self) -> bool:
        """Whether its id is kept with its digest, to answer a conflict or a repeat."""
        return isinstance(self.value, dict) and is_uuid(self.value.get("id"))


def _content_id(value: Any) -> str:
    """An id for the answer of a statement that has no usable one (it will be dead-lettered)."""
    return str(uuid.uuid5(CONTENT_IDS, orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()))


def _posted(value: Any, index: int | None, strict: bool) -> Posted:
    checked = read_statement(value, repairs=not strict)
    if isinstance(checked, Rejection) and strict:
        raise InvalidStatement(f"statement {index}: {checked.reason}" if index is not None else checked.reason)
    if isinstance(value, dict) and "id" not in value:
        value = {"id": str(uuid.uuid4()), **value}
    statement_id = value["id"] if isinstance(value, dict) and is_uuid(value["id"]) else _content_id(value)
    return Posted(value, statement_id, not isinstance(checked, Rejection))


def _statements(payload, statement_id: str | None, strict: bool) -> list[Posted]:
    """The request's statements, each with its id; in strict mode InvalidStatement names the
    first invalid one, by index."""
    if statement_id is not None:
        if not isinstance(payload, dict):
            raise InvalidStatement("PUT takes one statement, a JSON object")
        if payload.get("id", statement_id) != statement_id:
            raise InvalidStatement("id: differs from the statementId parameter")
        payload = {**payload, "id": statement_id}
    if not isinstance(payload, dict | list):
        raise InvalidStatement("the body must be a statement (a JSON object) or an array of statements")
    batch = isinstance(payload, list)
    listed = payload if batch else [payload]
    posted = [_posted(value, index if batch else None, strict) for index, value in enumerate(listed)]
    ids = [p.statement_id.lower() for p in posted]
    if strict and len(set(ids)) != len(ids):
        raise InvalidStatement("the request holds two statements with the same id")
    return posted


def _statement_id(request: Request) -> str:
    value = request.query_params.get("statementId", "")
    if not is_uuid(value):
        raise ApiError(400, "PUT needs a statementId parameter holding a UUID")
    return value


def _claimed_org(statement: Any) -> Any:
    context = statement.get("context") if isinstance(statement, dict) else None
    extensions = context.get("extensions") if isinstance(context, dict) else None
    return extensions.get(ORG_EXTENSION) if isinstance(extensions, dict) else None


def _with_key(statement: Any, org: str | None) -> Any:
    """The statement as this write key posted it: a bound key's org as its authority (which
    makes the org final) and in its context as the claimed org, where the context can take it
    (one that cannot is dead-lettered anyway); an unbound key's statement claims no authority
    of ours."""
    if not isinstance(statement, dict):
        return statement
    statement = dict(statement)
    if org is None:
        if key_org_of(statement) is not None:
            del statement["authority"]
        return statement
    statement["authority"] = key_org_authority(org)
    context = statement.get("context", {})
    if isinstance(context, dict) and isinstance(context.get("extensions", {}), dict):
        statement["context"] = {**context, "extensions": {**(context.get("extensions") or {}), ORG_EXTENSION: org}}
    return statement


def _one_per_id(posted: list[Posted], digests: list[bytes]) -> tuple[list[Posted], list[bytes]]:
    """The request without repeats of a statement inside it; one id with two different
    statements is a conflict (409), as it is across requests."""
    seen: dict[str, bytes] = {}
    kept, kept_digests = [], []
    for statement, digest in zip(posted, digests):
        key = statement.statement_id.lower()
        if key in seen:
            if seen[key] != digest:
                raise ApiError(409, f"the request holds two different statements with id {statement.statement_id}")
            continue
        seen[key] = digest
        kept.append(statement)
        kept_digests.append(digest)
    return kept, kept_digests


async def store(request: Request, *, put: bool) -> tuple[list[str], str]:
    shared = services(request)
    config = shared.config
    async with unavailable_as_503(), shared.pool.connection() as conn:
        key = await write_key(conn, request)
    shared.limiter.take(key.key_id)
    version = _version(request)
    statement_id = _statement_id(request) if put else None
    if (kind := content_type(request)) != "application/json":
        raise ApiError(415, f"statements are posted as application/json, not {kind!r} (no attachments)")
    # An array of statements is one level more.
    payload = await json_body(request, config.max_batch_bytes, MAX_NESTING + 1, "a statement")
    try:
        posted = _statements(payload, statement_id, config.xapi_strict)
    except InvalidStatement as exc:
        raise ApiError(400, str(exc)) from None
    if len(posted) > config.max_events:
        raise ApiError(413, f"{len(posted)} statements; the limit is {config.max_events}")
    answer = [p.statement_id for p in posted]
    if key.org_id:
        for index, p in enumerate(posted):
            if (claimed := _claimed_org(p.value)) is not None and claimed != key.org_id:
                raise ApiError(403, f"statement {index}: this write key lands statements of org {key.org_id!r} only")
    posted, digests = _one_per_id(posted, [statement_digest(p.value, config.pii_key) for p in posted])
    for p in posted:
        p.value = _with_key(p.value, key.org_id)
    async with unavailable_as_503(), shared.pool.connection() as conn, conn.transaction():
        recorded = [(p.statement_id, d) for p, d in zip(posted, digests) if p.recorded]
        rows = await (
            await conn.execute(
                "SELECT * FROM web.record_statements(%s, %s)",
                ([i for i, _ in recorded], [d for _, d in recorded]),
            )
        ).fetchall()
        conflicts = [str(found) for found, conflict, _ in rows if conflict]
        if conflicts:
            raise ApiError(409, f"statement {conflicts[0]} was stored before with different content")
        repeated = {str(found) for found, _, was_stored in rows if was_stored}
        received_at = datetime.now(UTC)
        stored = received_at.isoformat().replace("+00:00", "Z")
        lines = [
            orjson.dumps({**p.value, "stored": stored} if isinstance(p.value, dict) else p.value)
            for p in posted
            if p.statement_id.lower() not in repeated
        ]
        if lines:
            await persist(config.landing, received_at, lines, f"{uuid.uuid4()}{XAPI_MARK}")
    invalid = sum(not p.valid for p in posted)
    log.info(
        orjson.dumps(
            {"event": "statements", "stored": len(lines), "repeated": len(repeated), "invalid": invalid}
        ).decode()
    )
    return answer, version


async def post(request: Request) -> Response:
    ids, version = await store(request, put=False)
    return json_response(ids, headers={VERSION_HEADER: version})


async def put(request: Request) -> Response:
    _, version = await store(request, put=True)
    return Response(status_code=204, headers={VERSION_HEADER: version})


async def about(request: Request) -> Response:
    return json_response({"version": list(ANSWER_VERSIONS.values())}, headers={VERSION_HEADER: "1.0.3"})


routes = [
    Route("/xAPI/statements", post, methods=["POST"]),
    Route("/xAPI/statements", put, methods=["PUT"]),
    Route("/xAPI/about", about, methods=["GET"]),
]
