"""Write parsed batch files: dedupe, resolve orgs, store, and record each file's ledger row.

A group of files commits in one transaction, under an advisory lock on each file taken in
path order. So a run killed mid-group leaves nothing of it behind, and two runs of one
partition at once serialize per file: the later one finds the ledger rows and skips those
files instead of counting them again. Grouping many small files per transaction is what
makes ingestion fast: a commit and a dozen round trips per file cost more than the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.batches import ParsedBatch
from analytics_pipeline.ingestion.landing import BatchFile

# pg_temp.stage_events' columns and their types, in the order of the rows written to it.
STAGE_COLUMNS = {
    "batch_seq": "int4", "batch_id": "text", "line_no": "int4", "client_event_id": "uuid", "event_type": "text",
    "occurred_at": "timestamptz", "received_at": "timestamptz", "user_token": "text", "claimed_org_id": "text",
    "course_id": "text", "lesson_id": "text", "session_id": "text", "properties": "text", "free_text": "text",
}
DEAD_LETTER_COLUMNS = "received_date, batch_id, line_no, landing_path, reason_code, reason, excerpt"
LEDGER_COLUMNS = (
    "received_date, batch_id, landing_path, lines, accepted, duplicates, dead_lettered, unresolved_org, "
    "max_received_at"
)


@dataclass(frozen=True)
class BatchResult:
    received_date: date
    batch_id: str
    lines: int
    accepted: int
    duplicates: int
    dead_lettered: int
    unresolved_org: int
    quarantined: str | None = None  # why the whole file was set aside, when it was


def lock_batches(conn: psycopg.Connection, batches: list[BatchFile]) -> None:
    """Serialize everything that writes these files (ingestion, replay), until commit."""
    conn.execute(load_sql("ingest/lock_batches"), {"paths": sorted(b.landing_path for b in batches)})


def write_events(conn: psycopg.Connection, received_date: date,
                 parsed: list[ParsedBatch]) -> dict[str, tuple[int, int]]:
    """Dedupe, resolve and store the validated rows of one partition's files, inside the
    caller's transaction; within the group, an event id's first file in the list wins.
    Returns {batch_id: (accepted, unresolved_org)} for files with an accepted event."""
    conn.execute("SELECT raw.ensure_analytics_events_partition(%s)", (received_date,))
    conn.execute(load_sql("ingest/create_stage"))
    # Binary: formatting a row costs Python half what text does, and PostgreSQL reads
    # uuids and timestamps without parsing them.
    stage = f"COPY pg_temp.stage_events ({', '.join(STAGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(stage) as copy:
        copy.set_types(list(STAGE_COLUMNS.values()))
        for seq, batch in enumerate(parsed):
            head = (seq, batch.batch.batch_id)
            for row in batch.events:
                copy.write_row(head + row)
    rows = conn.execute(load_sql("ingest/merge_stage"), {"received_date": received_date}).fetchall()
    return {batch_id: (accepted, unresolved) for batch_id, accepted, unresolved in rows}


def write_group(conn: psycopg.Connection, group: list[ParsedBatch]) -> list[BatchResult]:
    """Store a group of parsed files of one partition in one transaction; files already in
    the ledger or the quarantine (by an earlier or concurrent run) are skipped."""
    if not group:
        return []
    received_date = group[0].batch.received_date
    with conn.transaction():
        lock_batches(conn, [p.batch for p in group])
        handled = {
            batch_id for _, batch_id in conn.execute(
                load_sql("ingest/handled_batches"),
                {"received_date": received_date, "batch_ids": [p.batch.batch_id for p in group]},
            )
        }
        todo = [p for p in group if p.batch.batch_id not in handled]
        unreadable = [p for p in todo if p.unreadable]
        readable = [p for p in todo if not p.unreadable]
        written = write_events(conn, received_date, readable)
        with conn.cursor() as cur:
            with cur.copy(f"COPY raw.analytics_dead_letters ({DEAD_LETTER_COLUMNS}) FROM STDIN") as copy:
                for parsed in readable:
                    for row in parsed.dead_letters:
                        copy.write_row(row)
            results = [_result(p, written.get(p.batch.batch_id, (0, 0))) for p in readable]
            with cur.copy(f"COPY raw.analytics_event_batches ({LEDGER_COLUMNS}) FROM STDIN") as copy:
                for r, p in zip(results, readable):
                    copy.write_row((received_date, r.batch_id, p.batch.landing_path, r.lines, r.accepted,
                                    r.duplicates, r.dead_lettered, r.unresolved_org, p.max_received_at))
            cur.executemany(load_sql("ingest/record_quarantine"), [
                {"received_date": received_date, "batch_id": p.batch.batch_id,
                 "landing_path": p.batch.landing_path, "reason": p.unreadable}
                for p in unreadable
            ])
    quarantined = [BatchResult(received_date, p.batch.batch_id, 0, 0, 0, 0, 0, quarantined=p.unreadable)
                   for p in unreadable]
    return results + quarantined


def _result(parsed: ParsedBatch, written: tuple[int, int]) -> BatchResult:
    accepted, unresolved = written
    return BatchResult(
        received_date=parsed.batch.received_date,
        batch_id=parsed.batch.batch_id,
        lines=parsed.lines,
        accepted=accepted,
        duplicates=len(parsed.events) - accepted,
        dead_lettered=len(parsed.dead_letters),
        unresolved_org=unresolved,
    )
