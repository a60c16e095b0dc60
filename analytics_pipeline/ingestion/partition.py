"""Partition-level ingestion: the landing files of one received date not yet in the ledger.

Files are parsed in groups of about GROUP_LINES lines. A writer thread stores each group (the
work is then mostly PostgreSQL's, on the other core) while the next ones are parsed, up to
GROUPS_AHEAD groups ahead so that neither side waits on the other's slower groups.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.batch_parser import KnownReference, ParsedBatch, known_reference, parse_batch
from analytics_pipeline.ingestion.landing import BatchFile, list_batch_files
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.writer import BatchResult, write_group

GROUP_LINES = 20_000
GROUPS_AHEAD = 2
# A call that stores this many events refreshes the partition's statistics itself; a trickle
# of small files is left to autovacuum.
ANALYZE_AFTER_EVENTS = 1000


def pending_batches(conn: psycopg.Connection, root: Path, partitions: Collection[str] | None = None) -> list[BatchFile]:
    """Landed batch files (of `partitions`, or of every day) that neither the batch ledger nor
    the quarantine lists yet."""
    landed = list_batch_files(root, partitions)
    if not landed:
        return []
    # The whole ledger in one query, or each listed day's by its key.
    days = [None] if partitions is None else sorted({b.received_date for b in landed})
    sql = load_sql("ingest/handled_batches")
    ingested = {row for day in days for row in conn.execute(sql, {"received_date": day, "batch_ids": None})}
    return [b for b in landed if (b.received_date, b.batch_id) not in ingested]


def parsed_groups(
    batches: Iterable[BatchFile], tokenizer: Tokenizer, known: KnownReference, group_lines: int
) -> Iterator[list[ParsedBatch]]:
    """Parsed files, a group at a time, each group of one partition and about `group_lines` lines."""
    group: list[ParsedBatch] = []
    lines = 0
    for batch in batches:
        if group and (lines >= group_lines or batch.received_date != group[0].batch.received_date):
            yield group
            group, lines = [], 0
        parsed = parse_batch(batch, tokenizer, known)
        group.append(parsed)
        lines += parsed.lines
    if group:
        yield group


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector is off while a partition ingests: parsing keeps groups of rows alive
    until written, and each pass would walk them again for cycles that never form (a row holds
    plain values). Whatever cycles form meanwhile are collected when it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ingest_partition(
    conn: psycopg.Connection,
    root: Path,
    partition_key: str,
    tokenizer: Tokenizer,
) -> list[BatchResult]:
    """Ingest every pending batch of one partition; returns what this call ingested (files a
    concurrent run took first are not in it)."""
    results: list[BatchResult] = []
    known = known_reference(conn)
    with no_cycle_collection(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
        in_flight: deque[Future] = deque()
        pending = pending_batches(conn, root, [partition_key])
        for group in parsed_groups(pending, tokenizer, known, GROUP_LINES):
            if len(in_flight) == GROUPS_AHEAD:
                results += in_flight.popleft().result()
            in_flight.append(writer.submit(write_group, conn, group))
        for done in in_flight:
            results += done.result()
    if sum(result.accepted for result in results) >= ANALYZE_AFTER_EVENTS:
        conn.execute("SELECT raw.analyze_analytics_events_partition(%s)", (partition_key,))
    return results
