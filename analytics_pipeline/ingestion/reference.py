"""Reference snapshots (organizations, courses, lessons, enrollments, and the optional
learners snapshot of the learner directory) from the landing zone.

Each CSV is a full snapshot: it replaces its table as a whole, in one transaction, and only
when its content changed since the last load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.learner_directory import (
    LEARNERS,
    LearnersSnapshotError,
    learners_snapshot,
    load_learners_snapshot,
)
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.snapshot_csv import snapshot_rows


@dataclass(frozen=True)
class ReferenceTable:
    name: str
    csv_columns: tuple[str, ...]
    table_columns: tuple[str, ...]


# Enrollments carry the LMS user id: it is tokenized on the way in, like event user ids.
REFERENCE_TABLES = (
    ReferenceTable("organizations", ("org_id", "name"), ("org_id", "name")),
    ReferenceTable("courses", ("course_id", "title"), ("course_id", "title")),
    ReferenceTable(
        "lessons",
        ("lesson_id", "course_id", "position", "title", "kind", "duration_seconds"),
        ("lesson_id", "course_id", "position", "title", "kind", "duration_seconds"),
    ),
    ReferenceTable(
        "enrollments",
        ("org_id", "user_id", "course_id", "assigned_at", "due_at"),
        ("org_id", "user_token", "course_id", "assigned_at", "due_at"),
    ),
)


class ReferenceDataError(ValueError):
    pass


def _rows(table: ReferenceTable, path: Path, tokenizer: Tokenizer):
    for record in snapshot_rows(path, table.csv_columns, ReferenceDataError):
        row = [value or None for value in record]
        if table.name == "enrollments":
            row[1] = tokenizer.token(row[1])
        yield row


def changed_snapshots(conn: psycopg.Connection, root: Path) -> dict[str, str]:
    """{table: sha256} of the snapshots whose content differs from the last load, the
    optional learners snapshot (ingestion/learner_directory.py) among them when it is there."""
    known = dict(conn.execute("SELECT name, sha256 FROM raw.reference_snapshots").fetchall())
    changed = {}
    paths = {table.name: root / "reference" / f"{table.name}.csv" for table in REFERENCE_TABLES}
    if learners_snapshot(root).exists():
        paths[LEARNERS] = learners_snapshot(root)
    for name, path in paths.items():
        if not path.exists():
            raise ReferenceDataError(f"reference snapshot {path} is missing")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if known.get(name) != digest:
            changed[name] = digest
    return changed


def load_reference(conn: psycopg.Connection, root: Path, tokenizer: Tokenizer) -> dict[str, int]:
    """Load changed snapshots; returns {table: rows} for the tables reloaded now."""
    reloaded = {}
    changed = changed_snapshots(conn, root)
    for table in REFERENCE_TABLES:
        if table.name not in changed:
            continue
        path = root / "reference" / f"{table.name}.csv"
        digest = changed[table.name]
        with conn.transaction():
            conn.execute(f"TRUNCATE raw.{table.name}")
            count = 0
            columns = ", ".join(table.table_columns)
            with conn.cursor().copy(f"COPY raw.{table.name} ({columns}) FROM STDIN") as copy:
                for row in _rows(table, path, tokenizer):
                    copy.write_row(row)
                    count += 1
            conn.execute(
                load_sql("ingest/record_reference_snapshot"), {"name": table.name, "sha256": digest, "row_count": count}
            )
        reloaded[table.name] = count
    if LEARNERS in changed and tokenizer.sealer is not None:
        try:
            count = load_learners_snapshot(conn, learners_snapshot(root), tokenizer)
        except LearnersSnapshotError as exc:
            raise ReferenceDataError(str(exc)) from None
        conn.execute(
            load_sql("ingest/record_reference_snapshot"),
            {"name": LEARNERS, "sha256": changed[LEARNERS], "row_count": count},
        )
        reloaded[LEARNERS] = count
    return reloaded
