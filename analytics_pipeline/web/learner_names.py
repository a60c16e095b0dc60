"""Learners at risk by name, for org admins: the learner directory read under the caller's
role (access.read_learner_directory answers an org admin of the org only, and audits each
read) and opened with the directory key, which only the web app and the pipeline hold."""

from __future__ import annotations

import psycopg

from analytics_pipeline.ingestion.pii import Sealer
from analytics_pipeline.web.admin_queries import UNNAMED, Scope
from analytics_pipeline.web.database import fetch_all


async def learner_names(
    conn: psycopg.AsyncConnection, scope: Scope, sealer: Sealer, tokens: list[str] | None = None
) -> dict:
    """The query parameters that name the scope's learners at risk (or `tokens`) for this
    caller: their names and e-mails for an org admin, nobody for anyone else."""
    if tokens is None:
        tokens = [row["user_token"] for row in await fetch_all(conn, "api/at_risk_learners", scope.params)]
    if not tokens:
        return UNNAMED
    cur = await conn.execute("SELECT * FROM access.read_learner_directory(%s, %s)", (scope.org, tokens))
    named = {"learner_tokens": [], "learner_names": [], "learner_emails": []}
    for token, name, email in await cur.fetchall():
        named["learner_tokens"].append(token)
        named["learner_names"].append(sealer.open(token, "name", name))
        named["learner_emails"].append(sealer.open(token, "email", email))
    return named


def with_names(rows: list[dict], named: dict) -> list[dict]:
    """At-risk rows with their learner's name and e-mail where `named` has them."""
    found = dict(zip(named["learner_tokens"], zip(named["learner_names"], named["learner_emails"])))
    return [
        {
            **row,
            "learner_name": found.get(row["user_token"], (None, None))[0],
            "learner_email": found.get(row["user_token"], (None, None))[1],
        }
        for row in rows
    ]
