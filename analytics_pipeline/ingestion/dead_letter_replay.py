"""Dead-letter replay: re-read dead-lettered lines from the landing zone, validate them
against the current contract and reference data, ingest those that now pass into their
batch's partition, and resolve again the orgs of events kept without one.

Per batch, in one transaction under the batch's lock: the events, the dead letters marked
replayed (or given their current reason), and the ledger moved from dead-lettered to
accepted or duplicate, so lines = accepted + duplicates + dead-lettered still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.batch_parser import LINE_NO, ParsedBatch, known_reference, parse_batch
from analytics_pipeline.ingestion.landing import BatchFile
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.writer import lock_batches, partition_transaction, write_events


@dataclass
class ReplaySummary:
    replayed: int = 0  # dead letters that now pass (accepted or duplicate)
    accepted: int = 0
    still_dead: int = 0
    missing_files: list[str] = field(default_factory=list)
    orgs_resolved: int = 0
    partitions: set[str] = field(default_factory=set)  # received dates whose events changed


def _replay_batch(conn: psycopg.Connection, parsed: ParsedBatch, summary: ReplaySummary) -> None:
    passing, accepted = partition_transaction(conn, parsed.batch.received_date, lambda: _store_replayed(conn, parsed))
    summary.replayed += passing
    summary.accepted += accepted
    summary.still_dead += len(parsed.dead_letters)
    if accepted:
        summary.partitions.add(parsed.batch.received_date.isoformat())


def _store_replayed(conn: psycopg.Connection, parsed: ParsedBatch) -> tuple[int, int]:
    """(lines that now pass, of them accepted). An erased learner's lines stay dead letters:
    write_events sets them aside."""
    batch = parsed.batch
    lock_batches(conn, [batch])
    written = write_events(conn, batch.received_date, [parsed]) if parsed.events else {}
    passing = [row[LINE_NO] for row in parsed.events]
    accepted, unresolved = written.get(batch.batch_id, (0, 0))
    conn.execute(
        load_sql("ingest/mark_replayed"),
        {"received_date": batch.received_date, "batch_id": batch.batch_id, "line_nos": passing},
    )
    with conn.cursor() as cur:
        cur.executemany(
            load_sql("ingest/redead_letter"),
            [
                {
                    "reason_code": code,
                    "reason": reason,
                    "excerpt": excerpt,
                    "received_date": day,
                    "batch_id": batch_id,
                    "line_no": line_no,
                }
                for day, batch_id, line_no, _, code, reason, excerpt in parsed.dead_letters
            ],
        )
    conn.execute(
        load_sql("ingest/record_replay"),
        {
            "accepted": accepted,
            "duplicates": len(passing) - accepted,
            "unresolved_org": unresolved,
            "received_date": batch.received_date,
            "batch_id": batch.batch_id,
        },
    )
    return len(passing), accepted


def replay_dead_letters(
    conn: psycopg.Connection, root: Path, tokenizer: Tokenizer, reason: str | None = None, since: date | None = None
) -> ReplaySummary:
    summary = ReplaySummary()
    known = known_reference(conn)
    pending = conn.execute(load_sql("ingest/pending_dead_letters"), {"reason": reason, "since": since}).fetchall()
    for received_date, batch_id, landing_path, line_nos in pending:
        batch = BatchFile(received_date, batch_id, root / landing_path, landing_path)
        parsed = parse_batch(batch, tokenizer, known, only_lines=set(line_nos))
        if parsed.unreadable:
            summary.missing_files.append(landing_path)  # stays dead-lettered, as it was
            continue
        _replay_batch(conn, parsed, summary)
    with conn.transaction():
        for day, resolved in conn.execute(load_sql("ingest/resolve_missing_orgs")).fetchall():
            summary.orgs_resolved += resolved
            summary.partitions.add(day.isoformat())
    return summary
