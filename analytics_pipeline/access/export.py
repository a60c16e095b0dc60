"""Export one org's rows of a mart to CSV, streamed through COPY … TO STDOUT: constant
memory whatever the size, safe to open in a spreadsheet. With a role, the export runs as that
role, so its row-level security decides what leaves the database."""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from analytics_pipeline.access.credentials import require_actable
from analytics_pipeline.access.spreadsheet_safe import describe, safe_csv_copy
from analytics_pipeline.db.connection import connect
from analytics_pipeline.marts import MARTS


def export_mart(
    database_url: str, mart: str, org: str, out: Path, role: str | None = None, on_chunk=lambda written: None
) -> int:
    """Returns the number of data rows written."""
    if mart not in MARTS:
        raise ValueError(f"unknown mart {mart!r}; one of: {', '.join(MARTS)}")
    select = sql.SQL("SELECT * FROM {} WHERE org_id = {}").format(sql.Identifier("marts", mart), sql.Literal(org))
    written = 0
    with connect(database_url, autocommit=False) as conn:
        if role:
            require_actable(conn, role)
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        with conn.cursor() as cur:
            cur.execute(describe(select))
            query = safe_csv_copy(select, [(column.name, column.type_code) for column in cur.description])
            with cur.copy(query) as copy, out.open("wb") as handle:
                for chunk in copy:
                    handle.write(chunk)
                    written += len(chunk)
                    on_chunk(written)
            return cur.rowcount  # from COPY's command tag: rows, whatever their content
