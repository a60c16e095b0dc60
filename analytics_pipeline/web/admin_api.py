"""The admin analytics API the LMS and the dashboard call (`/api/admin/...`).

Every request runs in one transaction as the caller's database role (`SET LOCAL ROLE`): the
marts' row-level security decides every row, and the filters below only narrow what it
allows. The figures are the marts' own rows, read by the .sql files in sql/api/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from importlib.resources import files

import orjson
import psycopg
import yaml
from psycopg import sql
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from analytics_pipeline.access.spreadsheet_safe import describe, safe_csv_copy
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.web.caller import Callers
from analytics_pipeline.web.config import WebConfig
from analytics_pipeline.web.csv_export import CopyStream
from analytics_pipeline.web.database import fetch_all
from analytics_pipeline.web.document_cache import DocumentCache
from analytics_pipeline.web.errors import ApiError, json_response
from analytics_pipeline.web.status import PipelineStatus, StatusCache

# Each dataset is one .sql file: the JSON document and the CSV export read the same rows.
# The analytics document's datasets, and the learning document's: each one .sql file, which
# the JSON documents and the CSV export both run.
OVERVIEW = {
    "completion": "api/completion",
    "dropoff": "api/dropoff",
    "engagement": "api/engagement",
    "surveys": "api/surveys",
}
LEARNING = {
    "at_risk": "api/at_risk",
    "video": "api/video",
    "quiz_items": "api/quiz_items",
    "time_on_task": "api/time_on_task",
    "retention": "api/retention",
}
DATASETS = {**OVERVIEW, **LEARNING}
MAX_ID_LENGTH = 200
MAX_RESPONSES_PAGE = 1000
# An erasure deletes from every table that holds learners: more than a read's time limit.
ERASURE_TIMEOUT = "10min"
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def query_value(request: Request, name: str, *, required: bool = False) -> str | None:
    """One query parameter, given at most once: a repeated `organization_id` could mean one
    org to a filter and another to a check, so it is refused, not resolved."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ApiError(400, f"{name} is given {len(values)} times; give it once")
    value = values[0].strip() if values else ""
    if not value:
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    if len(value) > MAX_ID_LENGTH:
        raise ApiError(400, f"{name} is over {MAX_ID_LENGTH} characters")
    check_text(name, value)
    return value


def check_text(name: str, value: str) -> None:
    """PostgreSQL text holds no NUL, and no id a client names holds a control character."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ApiError(400, f"{name} contains a control character")


def query_date(request: Request, name: str) -> date | None:
    value = query_value(request, name)
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a date, YYYY-MM-DD, not {value!r}") from None


def query_int(request: Request, name: str, default: int, maximum: int) -> int:
    value = query_value(request, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) > maximum:
        raise ApiError(400, f"{name} must be a whole number from 0 to {maximum}")
    return int(value)


@dataclass(frozen=True)
class Scope:
    """What one request asks about."""

    org: str
    course: str | None
    date_from: date | None
    date_to: date | None

    @classmethod
    def of(cls, request: Request) -> Scope:
        scope = cls(
            query_value(request, "organization_id", required=True),
            query_value(request, "course_id"),
            query_date(request, "from"),
            query_date(request, "to"),
        )
        if scope.date_from and scope.date_to and scope.date_from > scope.date_to:
            raise ApiError(400, "from is after to")
        return scope

    @property
    def params(self) -> dict:
        return {"org": self.org, "course": self.course, "from": self.date_from, "to": self.date_to}


def check_access(access: dict, scope: Scope, *, free_text: bool = False) -> None:
    """403 for an org the role has no grant for (whether or not it exists), 404 for a course
    or org the role could see but the marts do not hold. PostgreSQL answered both
    (sql/api/org_access.sql)."""
    if not access["visible"]:
        raise ApiError(403, f"no grant for organization {scope.org!r}")
    if free_text and not access["free_text_visible"]:
        raise ApiError(403, f"survey free text of {scope.org!r} needs an org-admin grant")
    if not access["known"]:
        raise ApiError(404, f"no figures for organization {scope.org!r} yet")
    if not access["course_known"]:
        raise ApiError(404, f"course {scope.course!r} is not assigned in organization {scope.org!r}")


async def authorize(conn: psycopg.AsyncConnection, scope: Scope, *, free_text: bool = False) -> None:
    (access,) = await fetch_all(conn, "api/org_access", scope.params)
    check_access(access, scope, free_text=free_text)


def document_query(datasets: dict[str, str], *, with_summary: bool) -> sql.Composed:
    """A document in one statement: the org access check, each dataset's rows as JSON (the
    same .sql files the CSV export runs) and, for the overview, the summary. PostgreSQL renders
    the rows, so the API passes them through without converting a value."""
    columns = [
        sql.SQL("(SELECT coalesce(json_agg(d), '[]')::text FROM ({}) AS d) AS {}").format(
            sql.SQL(load_sql(path)), sql.Identifier(name)
        )
        for name, path in datasets.items()
    ]
    if with_summary:
        columns.append(
            sql.SQL("(SELECT row_to_json(s)::text FROM ({}) AS s) AS summary").format(sql.SQL(load_sql("api/summary")))
        )
    return sql.SQL("SELECT a.*, {} FROM ({}) AS a").format(
        sql.SQL(", ").join(columns), sql.SQL(load_sql("api/org_access"))
    )


def survey_totals(rows: list[dict]) -> dict:
    """The org's (or the course's) ratings: counts per rating summed over courses, and the
    average rating over all those responses."""
    ratings = {k: sum(row[f"rating_{k}"] for row in rows) for k in range(1, 6)}
    responses = sum(ratings.values())
    average = round(sum(k * n for k, n in ratings.items()) / responses, 4) if responses else None
    return {"responses": responses, "average_rating": average, "ratings": ratings, "courses": rows}


def admin_routes(config: WebConfig, callers: Callers, status: StatusCache) -> list[Route]:
    templates = Jinja2Templates(directory=str(files("analytics_pipeline") / "web" / "templates"))
    spec = yaml.safe_load((files("analytics_pipeline") / "web" / "openapi.yaml").read_text())
    documents_sql = {
        "overview": document_query(OVERVIEW, with_summary=True),
        "learning": document_query(LEARNING, with_summary=False),
    }

    documents = DocumentCache(config.document_cache_seconds)
    export_columns: dict[str, list[tuple[str, int]]] = {}  # per dataset: its columns never change
    tokenizer = Tokenizer(config.pii_key)

    as_caller = callers.acting

    async def document(request: Request, name: str, scope: Scope, current: PipelineStatus) -> dict:
        """A document's row under the caller's role. The role's access is asked of PostgreSQL
        on every request; the marts are read again unless this role read the same document
        since they last moved (document_cache.py)."""
        async with as_caller(request) as (conn, principal):
            key = (principal.role, name, scope, current.freshness.data_fresh_as_of)
            row = documents.get(key)
            if row is None:
                (row,) = await fetch_all(conn, documents_sql[name], scope.params)
                cacheable = True
            else:
                (access,) = await fetch_all(conn, "api/org_access", scope.params)
                row, cacheable = {**row, **access}, False
        check_access(row, scope)
        if cacheable:
            documents.put(key, row)
        return row

    async def organizations(request: Request) -> Response:
        async with as_caller(request) as (conn, _):
            rows = await fetch_all(conn, "api/organizations", {})
        return json_response({"organizations": rows})

    async def analytics(request: Request) -> Response:
        scope = Scope.of(request)
        current = await status.current()
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
        scope = Scope.of(request)
        row = await document(request, "learning", scope, await status.current())
        return json_response(
            {
                "organization_id": scope.org,
                "course_id": scope.course,
                "from": scope.date_from,
                "to": scope.date_to,
                **{name: orjson.Fragment(row[name]) for name in LEARNING},
            }
        )

    async def summary(request: Request) -> Response:
        scope = Scope.of(request)
        async with as_caller(request) as (conn, _):
            await authorize(conn, scope)
            (row,) = await fetch_all(conn, "api/summary", scope.params)
        return json_response(
            {"organization_id": scope.org, "summary": row["summary"], "data_fresh_as_of": row["data_fresh_as_of"]}
        )

    async def survey_responses(request: Request) -> Response:
        scope = Scope.of(request)
        page = {
            "limit": query_int(request, "limit", 100, MAX_RESPONSES_PAGE),
            "offset": query_int(request, "offset", 0, 10**9),
        }
        async with as_caller(request) as (conn, _):
            await authorize(conn, scope, free_text=True)
            rows = await fetch_all(conn, "api/survey_responses", {**scope.params, **page})
        return json_response({"organization_id": scope.org, **page, "responses": rows})

    async def export(request: Request) -> Response:
        scope = Scope.of(request)
        dataset = query_value(request, "dataset", required=True)
        if dataset not in DATASETS:
            raise ApiError(400, f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
        select = sql.SQL(load_sql(DATASETS[dataset]))
        async with as_caller(request) as (conn, principal):
            await authorize(conn, scope)
            if dataset not in export_columns:
                cur = await conn.execute(describe(select), scope.params)
                export_columns[dataset] = [(column.name, column.type_code) for column in cur.description]
        copy = safe_csv_copy(select, export_columns[dataset])
        stream = CopyStream(config.database_url, principal.role, copy, scope.params)
        name = _FILE_SAFE.sub("_", "-".join(p for p in (scope.org, scope.course, dataset) if p))
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
        async with callers.acting(request, ERASURE_TIMEOUT) as (conn, principal):
            try:
                cur = await conn.execute(
                    "SELECT access.erase_learner(%s, %s, %s, %s)",
                    (tokenizer.token(user_id), user_id, org, principal.credential),
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
        return json_response(spec)

    async def docs(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "api_docs.html", {"spec": spec})

    return [
        Route("/api/admin/analytics", analytics, methods=["GET"]),
        Route("/api/admin/analytics/organizations", organizations, methods=["GET"]),
        Route("/api/admin/analytics/learning", learning, methods=["GET"]),
        Route("/api/admin/analytics/summary", summary, methods=["GET"]),
        Route("/api/admin/analytics/export", export, methods=["GET"]),
        Route("/api/admin/analytics/surveys/responses", survey_responses, methods=["GET"]),
        Route("/api/admin/learners/{user_id}", forget, methods=["DELETE"]),
        Route("/api/admin/openapi.json", openapi, methods=["GET"]),
        Route("/api/admin/docs", docs, methods=["GET"]),
    ]
