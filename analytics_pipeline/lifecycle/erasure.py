"""Forgetting a learner on request (GDPR, FERPA).

One routine, `access.erase_learner` (sql/routines/learner_erasure.sql), removes the learner's
rows everywhere, leaves a tombstone that ingestion and replays honour, and writes the audit
row. It marks the days that held the learner's events as changed, so the next pipeline run (or
the daemon's sensors) rolls them up again and rebuilds the marts without the learner. The CLI
and the admin API both call it; PostgreSQL lets only a platform admin (or the owner) do so.
"""

from __future__ import annotations

import psycopg

from analytics_pipeline.ingestion.pii import Tokenizer


def forget_learner(
    conn: psycopg.Connection, tokenizer: Tokenizer, user_id: str, org: str | None, requested_by: str
) -> dict[str, int]:
    """{table: rows removed} for the learner `user_id` (in `org` only, when given)."""
    row = conn.execute(
        "SELECT access.erase_learner(%s, %s, %s, %s)", (tokenizer.token(user_id), user_id, org, requested_by)
    ).fetchone()
    return row[0]
