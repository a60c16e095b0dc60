"""What an admin API request asks about (its scope, checked parameter by parameter), whether
PostgreSQL lets its caller see it, and the statements that read its documents: the marts' own
rows, by the .sql files in sql/api/, under the caller's role (web/routes/admin.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql
from starlette.requests import Request

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.web.database import fetch_all
from analytics_pipeline.web.errors import ApiError

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
UNNAMED = {"learner_tokens": [], "learner_names": [], "learner_emails": []}
MAX_RESPONSES_PAGE = 1000
# An erasure deletes from every table that holds learners: more than a read's time limit.
ERASURE_TIMEOUT = "10min"
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_safe(name: str) -> str:
    """A download's file name with nothing a Content-Disposition header or a file system minds."""
    return _FILE_SAFE.sub("_", name)


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
    def of(cls, request: Request, default_org: str | None = None) -> Scope:
        scope = cls(
            query_value(request, "organization_id", required=default_org is None) or default_org,
            query_value(request, "course_id"),
            query_date(request, "from"),
            query_date(request, "to"),
        )
        if scope.date_from and scope.date_to and scope.date_from > scope.date_to:
            raise ApiError(400, "from is after to")
        return scope

    @property
    def params(self) -> dict:
        # No learner named: an org admin's names are added per request (web/learner_names.py).
        return {"org": self.org, "course": self.course, "from": self.date_from, "to": self.date_to, **UNNAMED}


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


# Each document in one statement, composed once.
DOCUMENTS = {
    "overview": document_query(OVERVIEW, with_summary=True),
    "learning": document_query(LEARNING, with_summary=False),
}
