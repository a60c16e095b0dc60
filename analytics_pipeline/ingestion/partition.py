"""Partition-level ingestion: the landing files of one received date not yet in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.batches import BatchResult, ingest_batch, known_courses
from analytics_pipeline.ingestion.landing import BatchFile, list_batch_files
from analytics_pipeline.ingestion.pii import Tokenizer


def pending_batches(conn: psycopg.Connection, root: Path, partition_key: str | None = None) -> list[BatchFile]:
    """Landed batch files that neither the batch ledger nor the quarantine lists yet."""
    landed = list_batch_files(root, partition_key)
    if not landed:
        return []
    ingested = {
        (day.isoformat(), batch_id)
        for day, batch_id in conn.execute(
            load_sql("ingest/handled_batches"), {"received_date": partition_key}
        )
    }
    return [b for b in landed if (b.partition_key, b.batch_id) not in ingested]


def ingest_partition(
    conn: psycopg.Connection,
    root: Path,
    partition_key: str,
    tokenizer: Tokenizer,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> list[BatchResult]:
    """Ingest every pending batch of one partition; returns what this call ingested."""
    results = []
    courses = known_courses(conn)
    for batch in pending_batches(conn, root, partition_key):
        result = ingest_batch(conn, batch, tokenizer, courses)
        if result is None:  # a concurrent run took it first
            continue
        results.append(result)
        if on_batch:
            on_batch(result)
    return results
