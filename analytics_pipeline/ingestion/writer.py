"""Write parsed batch files: dedupe, resolve orgs, store, and record each file's ledger row.

A group of files commits in one transaction, under an advisory lock on each file taken in
path order. So a run killed mid-group leaves nothing of it behind, and two runs of one
partition at once serialize per file: the later one finds the ledger rows and skips those
files instead of counting them again. Grouping many small files per transaction is what
makes ingestion fast: a commit and a dozen round trips per file cost more than the rows.

Within a transaction, the work is PostgreSQL's cheapest: the group is deduplicated in memory,
the event-id ledger is probed for the ids it already holds, and the new events, their ids and
the orgs resolved for them go in by binary COPY straight into their tables (no staging
table, no INSERT ... ON CONFLICT, which cost far more than COPY).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import TypeVar

import orjson
import psycopg
from psycopg import errors
from psycopg.types.string import BytesBinaryDumper

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.batch_parser import (
    BATCH,
    CLAIMED,
    COURSE,
    EVENT_COLUMNS,
    ID,
    LINE_NO,
    ORG,
    USER,
    ParsedBatch,
)
from analytics_pipeline.ingestion.landing import BatchFile
from analytics_pipeline.ingestion.learner_directory import record_event_users

FREE_TEXT_COLUMNS = {
    "client_event_id": "bytea",
    "received_date": "date",
    "org_id": "text",
    "course_id": "text",
    "user_token": "text",
    "free_text": "text",
}
ID_COLUMNS = {"client_event_id": "bytea", "received_date": "date", "batch_id": "text"}
DEAD_LETTER_COLUMNS = "received_date, batch_id, line_no, landing_path, reason_code, reason, excerpt"
LEDGER_COLUMNS = (
    "received_date, batch_id, landing_path, lines, accepted, duplicates, dead_lettered, unresolved_org, max_received_at"
)
# A concurrent run (another partition) may commit one of the group's event ids between the
# ledger probe and the COPY: the COPY then fails on the ledger's key, and the transaction is
# tried again, when the probe sees that id. PostgreSQL may also end a transaction caught in a
# deadlock with another writer (it rolls the victim back): that one is tried again too.
ATTEMPTS = 5
T = TypeVar("T")


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


def _copy(cur: psycopg.Cursor, table: str, columns: dict[str, str], rows) -> None:
    """Binary COPY of `rows`. Pre-encoded fields are typed bytea (see batches.EVENT_COLUMNS); by
    that type psycopg would pick its Python bytes dumper, so the C one is registered here."""
    cur.adapters.register_dumper(bytes, BytesBinaryDumper)
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(columns.values()))
        for row in rows:
            copy.write_row(row)


_claim = itemgetter(USER, COURSE, CLAIMED)  # what an event's org is resolved by
_batch = itemgetter(BATCH)
_event_id = itemgetter(ID)


def first_occurrences(parsed: list[ParsedBatch]) -> dict[bytes, list]:
    """The group's rows by event id: a client retry inside the group keeps its first file's,
    then its first line's, row."""
    firsts: dict[bytes, list] = {}
    for batch in parsed:
        for row in batch.events:
            firsts.setdefault(row[ID], row)
    return firsts


def write_events(
    conn: psycopg.Connection, received_date: date, parsed: list[ParsedBatch]
) -> dict[str, tuple[int, int]]:
    """Dedupe, resolve and store the validated rows of one partition's files, inside the
    caller's partition_transaction; within the group, an event id's first file in the list wins.
    Returns {batch_id: (accepted, unresolved_org)} for files with an accepted event."""
    firsts = first_occurrences(parsed)
    if not firsts:
        return {}
    known = {row[0] for row in conn.execute(load_sql("ingest/known_event_ids"), {"ids": b"".join(firsts)})}
    new = [row for event_id, row in firsts.items() if event_id not in known]
    key_orgs = {event_id: org for batch in parsed for event_id, org in batch.key_orgs.items()}
    claims = [(*_claim(row), row[ID] in key_orgs) for row in new]
    distinct = list(set(claims))
    resolved = conn.execute(load_sql("ingest/resolve_orgs"), {"claims": orjson.dumps(distinct).decode()}).fetchall()
    orgs = dict(zip(distinct, resolved, strict=True))
    for row, claim in zip(new, claims):
        row[ORG] = orgs[claim][0]
    if any(mismatch for _, mismatch in resolved):  # the usual group has none: no pass over its rows
        new = set_aside(new, parsed, lambda row, claim: orgs[claim][1], claims, "org_mismatch", ORG_MISMATCH_REASON)
    new = set_aside_erased(conn, new, parsed)
    unresolved = Counter(row[BATCH] for row in new if row[ORG] is None)
    free_texts = {event_id: text for batch in parsed for event_id, text in batch.free_texts.items()}
    with conn.cursor() as cur:
        # In key order the ids fill the ledger's key leaf page by leaf page, not each a page of
        # its own, and concurrent writers lock keys in one order.
        _copy(
            cur,
            "raw.analytics_event_ids",
            ID_COLUMNS,
            [(row[ID], received_date, row[BATCH]) for row in sorted(new, key=_event_id)],
        )
        _copy(cur, "raw.analytics_events", EVENT_COLUMNS, new)
        _copy(
            cur,
            "raw.survey_free_text",
            FREE_TEXT_COLUMNS,
            [
                (row[ID], received_date, row[ORG], row[COURSE], row[USER], free_texts[row[ID]])
                for row in new
                if row[ID] in free_texts
            ],
        )
    users = {token: user for batch in parsed for token, user in batch.users.items()}
    record_event_users(conn, {row[USER]: users[row[USER]] for row in new if row[USER] in users})
    accepted = Counter(map(_batch, new))
    return {batch_id: (n, unresolved[batch_id]) for batch_id, n in accepted.items()}


ERASED_REASON = "the learner was erased on request; their events are not kept"
ORG_MISMATCH_REASON = (
    "posted with a write key bound to another org: the learner is not enrolled in that org, which does not offer"
    " the course"
)


def set_aside(
    rows: list[list],
    parsed: list[ParsedBatch],
    refused,
    claims: list | None,
    code: str,
    reason: str,
) -> list[list]:
    """`rows` without those `refused(row, claim)` picks, which become dead letters of their file
    (no excerpt: the landed file keeps the line), so every line is still accounted for."""
    kept, by_batch = [], {p.batch.batch_id: p for p in parsed}
    for row, claim in zip(rows, claims or rows):
        if not refused(row, claim):
            kept.append(row)
            continue
        file = by_batch[row[BATCH]]
        file.events.remove(row)
        file.dead_letters.append(
            (file.batch.received_date, file.batch.batch_id, row[LINE_NO], file.batch.landing_path, code, reason, "")
        )
    return kept


def set_aside_erased(conn: psycopg.Connection, rows: list[list], parsed: list[ParsedBatch]) -> list[list]:
    """`rows` without the events of erased learners (raw.erased_learners: a learner everywhere,
    or in the org the event resolved to). Those become dead letters of their file, with no
    excerpt, so a replay or a re-landed file brings no erased learner back."""
    erased = set(conn.execute("SELECT user_token, org_id FROM raw.erased_learners").fetchall())
    if not erased:
        return rows
    return set_aside(
        rows,
        parsed,
        lambda row, _: (row[USER], "") in erased or (row[USER], row[ORG]) in erased,
        None,
        "erased_learner",
        ERASED_REASON,
    )


def partition_transaction(conn: psycopg.Connection, received_date: date, body: Callable[[], T]) -> T:
    """Run `body`, which writes events received on `received_date`, in a transaction: again
    when a concurrent writer took an event id first, or PostgreSQL broke a deadlock with one.

    The day's partition is created before, on its own (`conn` is in autocommit): creating it
    locks the whole events table until commit, and a transaction holding that lock while it
    waits on another run's event ids deadlocks with that run's COPY into the events."""
    conn.execute("SELECT raw.ensure_analytics_events_partition(%s)", (received_date,))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with conn.transaction():
                return body()
        except errors.UniqueViolation as exc:
            if attempt == ATTEMPTS or exc.diag.table_name != "analytics_event_ids":
                raise
        except errors.DeadlockDetected:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def write_group(conn: psycopg.Connection, group: list[ParsedBatch]) -> list[BatchResult]:
    """Store a group of parsed files of one partition in one transaction; files already in
    the ledger or the quarantine (by an earlier or concurrent run) are skipped."""
    if not group:
        return []
    return partition_transaction(conn, group[0].batch.received_date, lambda: _write_group(conn, group))


def _write_group(conn: psycopg.Connection, group: list[ParsedBatch]) -> list[BatchResult]:
    received_date = group[0].batch.received_date
    lock_batches(conn, [p.batch for p in group])
    handled = {
        batch_id
        for _, batch_id in conn.execute(
            load_sql("ingest/handled_batches"),
            {"received_date": received_date, "batch_ids": [p.batch.batch_id for p in group]},
        )
    }
    todo = [p for p in group if p.batch.batch_id not in handled]
    unreadable = [p for p in todo if p.unreadable]
    readable = [p for p in todo if not p.unreadable]
    written = write_events(conn, received_date, readable)
    results = [_result(p, written.get(p.batch.batch_id, (0, 0))) for p in readable]
    with conn.cursor() as cur:
        with cur.copy(f"COPY raw.analytics_dead_letters ({DEAD_LETTER_COLUMNS}) FROM STDIN") as copy:
            for parsed in readable:
                for row in parsed.dead_letters:
                    copy.write_row(row)
        with cur.copy(f"COPY raw.analytics_event_batches ({LEDGER_COLUMNS}) FROM STDIN") as copy:
            for r, p in zip(results, readable):
                copy.write_row(
                    (
                        received_date,
                        r.batch_id,
                        p.batch.landing_path,
                        r.lines,
                        r.accepted,
                        r.duplicates,
                        r.dead_lettered,
                        r.unresolved_org,
                        p.max_received_at,
                    )
                )
        cur.executemany(
            load_sql("ingest/record_quarantine"),
            [
                {
                    "received_date": received_date,
                    "batch_id": p.batch.batch_id,
                    "landing_path": p.batch.landing_path,
                    "reason": p.unreadable,
                }
                for p in unreadable
            ],
        )
    quarantined = [
        BatchResult(received_date, p.batch.batch_id, 0, 0, 0, 0, 0, quarantined=p.unreadable) for p in unreadable
    ]
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
