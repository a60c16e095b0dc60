"""The admin analytics API the LMS and the dashboard call (`/api/admin/...`).

Every request runs in one transaction as the caller's database role (`SET LOCAL ROLE`,
web/caller.py): the marts' row-level security decides every row, and the filters only narrow
what it allows.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson
import psycopg
from psycopg import sql
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from analytics_pipeline.access.spreadsheet_safe import describe, safe_csv_copy
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.web.admin_queries import (
    DATASETS,
    DOCUMENTS,
    ERASURE_TIMEOUT,
    LEARNING,
    MAX_ID_LENGTH,
    MAX_RESPONSES_PAGE,
    Scope,
    authorize,
    check_access,
    check_text,
    file_safe,
    query_int,
    query_value,
    survey_totals,
)
from analytics_pipeline.web.csv_export import CopyStream
from analytics_pipeline.web.database import fetch_all
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.learner_names import learner_names, with_names
from analytics_pipeline.web.services import services
from analytics_pipeline.web.status import PipelineStatus


async def scope_of(request: Request) -> Scope:
    """The request's scope. Without `organization_id`, a caller who may see one org gets that
    org; one who may see several is told to choose, and which (400)."""
    if query_value(request, "organization_id") is not None:
        return Scope.of(request)
    async with services(request).callers.acting(request) as (conn, _):
        orgs = [row["organization_id"] for row in await fetch_all(conn, "api/organizations", {})]
    if len(orgs) == 1:
        return Scope.of(request, default_org=orgs[0])
    if not orgs:
        raise ApiError(403, "this caller may see no organization")
    shown = ", ".join(orgs[:20]) + (f" and {len(orgs) - 20} more" if len(orgs) > 20 else "")
    raise ApiError(400, f"organization_id is required: this caller may see {shown}")


async def document(request: Request, name: str, scope: Scope, current: PipelineStatus) -> dict:
    """A document's row under the caller's role. The role's access is asked of PostgreSQL
    on every request; the marts are read again unless this role read the same document
    since they last moved (document_cache.py)."""
    shared = services(request)
    async with shared.callers.acting(request) as (conn, principal):
        key = (principal.role, name, scope, current.freshness.data_fresh_as_of)
        row = shared.documents.get(key)
        if row is None:
            (row,) = await fetch_all(conn, DOCUMENTS[name], scope.params)
            cacheable = True
        else:
            (access,) = await fetch_all(conn, "api/org_access", scope.params)
            row, cacheable = {**row, **access}, False
    check_access(row, scope)
    if cacheable:
        shared.documents.put(key, row)
    return row


async def overview(request: Request) -> Response:
    """Every org the caller may see (a platform admin: all of them), with its headline figures
    and a link into its dashboard."""
    async with services(request).callers.acting(request) as (conn, _):
        rows = await fetch_all(conn, "api/overview", {})
    for row in rows:
        row["dashboard"] = f"/?organization_id={quote(row['organization_id'])}"
    return json_response({"organizations": rows})


async def organizations(request: Request) -> Response:
    async with services(request).callers.acting(request) as (conn, _):
        rows = await fetch_all(conn, "api/organizations", {})
    return json_response({"organizations": rows})


async def analytics(request: Request) -> Response:
    scope = await scope_of(request)
    shared = services(request)
    config, current = shared.config, await shared.status.current()
    row = await document(request, "overview", scope, current)
    summary = orjson.loads(row["summary"])
    fresh, lag = current.freshness, current.lag
    return json_response(
        {
            "organization_id": scope.org,
            "organization_name": summary["org_name"],
            "course_id": scope.course,
            "from": scope.date_from,
            "to": scope.date_to,
            "data_fresh_as_of": fresh.data_fresh_as_of,
            "data_age_seconds": round(fresh.age_seconds, 1) if fresh.age_seconds is not None else None,
            "newer_data_waiting": fresh.behind,
            "stale": fresh.stale(config.sla.mart_freshness_seconds),
            "ingest_lag_seconds": round(lag.lag_seconds, 1),
            "ingest_lagging": lag.lag_seconds > config.sla.ingest_lag_seconds,
            "pending_files": lag.pending_files,
            "sla": {
                "mart_freshness_seconds": config.sla.mart_freshness_seconds,
                "ingest_lag_seconds": config.sla.ingest_lag_seconds,
            },
            "courses": orjson.Fragment(row["completion"]),
            "dropoff": orjson.Fragment(row["dropoff"]),
            "engagement": orjson.Fragment(row["engagement"]),
            "surveys": survey_totals(orjson.loads(row["surveys"])),
            "summary": summary["summary"],
        }
    )


async def learning(request: Request) -> Response:
    scope = await scope_of(request)
    shared = services(request)
    row = await document(request, "learning", scope, await shared.status.current())
    at_risk = orjson.loads(row["at_risk"])
    if at_risk:  # named for an org admin, afresh on every request: each read is audited
        async with shared.callers.acting(request) as (conn, _):
            named = await learner_names(conn, scope, shared.tokenizer.sealer, [r["user_token"] for r in at_risk])
        at_risk = with_names(at_risk, named)
    return json_response(
        {
            "organization_id": scope.org,
            "course_id": scope.course,
            "from": scope.date_from,
            "to": scope.date_to,
            **{name: orjson.Fragment(row[name]) for name in LEARNING},
            "at_risk": at_risk,
        }
    )


async def summary(request: Request) -> Response:
    scope = await scope_of(request)
    async with services(request).callers.acting(request) as (conn, _):
        await authorize(conn, scope)
        (row,) = await fetch_all(conn, "api/summary", scope.params)
    return json_response(
        {"organization_id": scope.org, "summary": row["summary"], "data_fresh_as_of": row["data_fresh_as_of"]}
    )


async def survey_responses(request: Request) -> Response:
    scope = await scope_of(request)
    page = {
        "limit": query_int(request, "limit", 100, MAX_RESPONSES_PAGE),
        "offset": query_int(request, "offset", 0, 10**9),
    }
    async with services(request).callers.acting(request) as (conn, _):
        await authorize(conn, scope, free_text=True)
        rows = await fetch_all(conn, "api/survey_responses", {**scope.params, **page})
    return json_response({"organization_id": scope.org, **page, "responses": rows})


async def export(request: Request) -> Response:
    scope = await scope_of(request)
    dataset = query_value(request, "dataset", required=True)
    if dataset not in DATASETS:
        raise ApiError(400, f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
    select = sql.SQL(load_sql(DATASETS[dataset]))
    shared = services(request)
    params = scope.params
    async with shared.callers.acting(request) as (conn, principal):
        await authorize(conn, scope)
        if dataset not in shared.export_columns:
            cur = await conn.execute(describe(select), params)
            shared.export_columns[dataset] = [(column.name, column.type_code) for column in cur.description]
        if dataset == "at_risk":
            params = {**params, **await learner_names(conn, scope, shared.tokenizer.sealer)}
    copy = safe_csv_copy(select, shared.export_columns[dataset])
    stream = CopyStream(shared.config.database_url, principal.role, copy, params)
    name = file_safe("-".join(p for p in (scope.org, scope.course, dataset) if p))
    return StreamingResponse(
        stream.blocks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def forget(request: Request) -> Response:
    """Erase a learner everywhere (or in one org): platform admins only, which PostgreSQL
    decides (access.erase_learner is theirs to execute). The marts drop the learner when
    the pipeline next rolls up the days that held their events."""
    user_id = request.path_params["user_id"]
    org = query_value(request, "organization_id")
    if not 0 < len(user_id) <= MAX_ID_LENGTH:
        raise ApiError(400, f"the learner id must be 1 to {MAX_ID_LENGTH} characters")
    check_text("the learner id", user_id)
    shared = services(request)
    async with shared.callers.acting(request, ERASURE_TIMEOUT) as (conn, principal):
        try:
            cur = await conn.execute(
                "SELECT access.erase_learner(%s, %s, %s, %s)",
                (shared.tokenizer.token(user_id), user_id, org, principal.credential),
            )
        except psycopg.errors.InsufficientPrivilege:
            raise ApiError(403, "erasing a learner needs a platform-admin role") from None
        (removed,) = await cur.fetchone()
    return json_response(
        {
            "organization_id": org,
            "rows_removed": removed,
            "marts": "rebuilt without the learner by the next pipeline run",
        }
    )


async def openapi(request: Request) -> Response:
    return json_response(services(request).admin_spec)


async def docs(request: Request) -> HTMLResponse:
    shared = services(request)
    return shared.templates.TemplateResponse(request, "api_docs.html", {"spec": shared.admin_spec})


routes = [
    Route("/api/admin/analytics", analytics, methods=["GET"]),
    Route("/api/admin/analytics/organizations", organizations, methods=["GET"]),
    Route("/api/admin/analytics/overview", overview, methods=["GET"]),
    Route("/api/admin/analytics/learning", learning, methods=["GET"]),
    Route("/api/admin/analytics/summary", summary, methods=["GET"]),
    Route("/api/admin/analytics/export", export, methods=["GET"]),
    Route("/api/admin/analytics/surveys/responses", survey_responses, methods=["GET"]),
    Route("/api/admin/learners/{user_id}", forget, methods=["DELETE"]),
    Route("/api/admin/openapi.json", openapi, methods=["GET"]),
    Route("/api/admin/docs", docs, methods=["GET"]),
]
