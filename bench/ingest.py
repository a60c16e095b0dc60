"""Ingest throughput on ~1 M generated events (parse, validate, tokenize, dedupe, write,
ledgers) beside (a) a plain COPY of the same rows into an unindexed table and (b) pandas
`DataFrame.to_sql(method="multi")` of the same rows, on the same server in the same run.

A third baseline tells what (a) leaves out: the distinct events COPYed, already parsed and
deduplicated, straight into the tables ingestion has to keep (the event-id ledger, with its
key, and the indexed events partition): about the most any ingestion keeping them can reach.

Where the ingest's time goes is measured in stages over the same files, each adding one
guarantee to the one before: reading the files, validating each line against the contract,
building the rows (tokenized learner ids, scrubbed properties), and the whole ingest (which
adds, partly overlapped with parsing, deduplication, org resolution, the writes and the
ledgers). Then the writes alone, every file parsed beforehand, and the machine's busy
core-seconds during the ingest: how much the overlap gains, and how much of the machine the
ingest can use."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pandas as pd
import psycopg
from sqlalchemy import create_engine

from analytics_pipeline.db.urls import libpq_url
from analytics_pipeline.ingestion.batch_parser import KnownReference, known_reference, parse_batch
from analytics_pipeline.ingestion.contract import check_line, latest_received_at
from analytics_pipeline.ingestion.landing import list_batch_files, read_lines
from analytics_pipeline.ingestion.partition import (
    GROUP_LINES,
    ingest_partition,
    no_cycle_collection,
    parsed_groups,
    pending_batches,
)
from analytics_pipeline.ingestion.pii import Tokenizer
from analytics_pipeline.ingestion.reference import load_reference
from analytics_pipeline.ingestion.writer import write_group
from bench.common import DAY, Figure, generate_day, machine_cpu, new_database, pipeline_tokenizer

# The events' columns with raw.analytics_events' types, and no key, index or constraint.
TYPES = {
    "client_event_id": "uuid",
    "event_type": "text",
    "occurred_at": "timestamptz",
    "received_at": "timestamptz",
    "user_id": "text",
    "org_id": "text",
    "course_id": "text",
    "lesson_id": "text",
    "session_id": "text",
    "properties": "jsonb",
    "free_text": "text",
}
COLUMNS = tuple(TYPES)
KEYED_COLUMNS = (
    "received_date, client_event_id, event_type, occurred_at, received_at, user_token, org_id, "
    "course_id, lesson_id, session_id, properties, batch_id, line_no"
)
TABLE = "CREATE TABLE bench_plain_events ({})".format(", ".join(f"{c} {t}" for c, t in TYPES.items()))


def plain_rows(landing: Path) -> list[tuple]:
    """The landed events as plain column tuples, parsed but not validated: what the
    baselines load."""
    rows = []
    for batch in list_batch_files(landing):
        for raw in read_lines(batch):
            try:
                e = orjson.loads(raw)
                props = e.get("properties") or {}
                rows.append(
                    (
                        e["clientEventId"],
                        e["eventType"],
                        e["occurredAt"],
                        e["receivedAt"],
                        e["userId"],
                        e.get("orgId"),
                        e["courseId"],
                        e.get("lessonId"),
                        e.get("sessionId"),
                        orjson.dumps(props).decode(),
                        props.get("freeText"),
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                continue
    return rows


def plain_copy(url: str, rows: list[tuple]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE)
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY bench_plain_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return time.perf_counter() - start


def keyed_copy(url: str, rows: list[tuple]) -> tuple[float, int]:
    """COPY the distinct events into raw.analytics_event_ids and raw.analytics_events, as
    they are (no parsing, no lookups): the work PostgreSQL does for any ingestion keeping them."""
    distinct = list({row[0]: row for row in reversed(rows)}.values())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT raw.ensure_analytics_events_partition(%s)", (DAY,))
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY raw.analytics_event_ids (client_event_id, received_date, batch_id) FROM STDIN") as copy:
                for row in distinct:
                    copy.write_row((row[0], DAY, "bench"))
            with cur.copy(f"COPY raw.analytics_events ({KEYED_COLUMNS}) FROM STDIN") as copy:
                for line_no, row in enumerate(distinct):
                    copy.write_row((DAY, *row[:10], "bench", line_no))
        return time.perf_counter() - start, len(distinct)


def pandas_to_sql(url: str, rows: list[tuple]) -> float:
    engine = create_engine(libpq_url(url).replace("postgresql://", "postgresql+psycopg://"))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    start = time.perf_counter()
    frame.to_sql("bench_to_sql_events", engine, method="multi", chunksize=1000, index=False)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def baselines(env, rows: list[tuple], to_sql_rows: int, run: str) -> tuple[float, float, float]:
    """(plain COPY, to_sql, keyed COPY) rates, in rows/s, each in a fresh database."""
    sample = rows[:to_sql_rows]
    copy_seconds = plain_copy(new_database(env, f"bench_copy_{run}"), rows)
    to_sql_seconds = pandas_to_sql(new_database(env, f"bench_to_sql_{run}"), sample)
    keyed_seconds, keyed_rows = keyed_copy(new_database(env, f"bench_keyed_copy_{run}"), rows)
    return len(rows) / copy_seconds, len(sample) / to_sql_seconds, keyed_rows / keyed_seconds


def stages(landing: Path, tokenizer: Tokenizer, known: KnownReference) -> dict[str, float]:
    """Seconds to go through every landed file up to each stage of parsing."""
    batches = list_batch_files(landing)
    latest = latest_received_at()
    timings = {}
    with no_cycle_collection():
        start = time.perf_counter()
        for batch in batches:
            for _ in read_lines(batch):
                pass
        timings["read the files"] = time.perf_counter() - start
        start = time.perf_counter()
        for batch in batches:
            for raw in read_lines(batch):
                check_line(raw, latest)
        timings["+ validate every line"] = time.perf_counter() - start
        start = time.perf_counter()
        for batch in batches:
            parse_batch(batch, tokenizer, known)
        timings["+ build the rows (tokens, scrubbing)"] = time.perf_counter() - start
    return timings


def writes_alone(url: str, landing: Path, tokenizer: Tokenizer) -> float:
    """Seconds the ingest's writer takes for every group when all of them were parsed
    beforehand: the ingest without the parsing it overlaps, which shares the interpreter
    with the writer thread."""
    with psycopg.connect(url, autocommit=True) as conn, no_cycle_collection():
        load_reference(conn, landing, tokenizer)
        pending = pending_batches(conn, landing, [DAY.isoformat()])
        groups = list(parsed_groups(pending, tokenizer, known_reference(conn), GROUP_LINES))
        start = time.perf_counter()
        for group in groups:
            write_group(conn, group)
        return time.perf_counter() - start


def measure(env, work: Path, events: int, to_sql_rows: int) -> tuple[list[Figure], dict]:
    landing = work / "ingest-landing"
    generated = generate_day(landing, events)
    rows = plain_rows(landing)
    # This machine's speed drifts by tens of percent over minutes (another tenant's load):
    # the baselines are taken just before and just after the ingest, and averaged.
    before = baselines(env, rows, to_sql_rows, "before")
    url = new_database(env, "bench_ingest")
    tokenizer = pipeline_tokenizer()
    with psycopg.connect(url, autocommit=True) as conn:
        load_reference(conn, landing, tokenizer)
        start = time.perf_counter()
        with machine_cpu() as cpu:
            results = ingest_partition(conn, landing, DAY.isoformat(), tokenizer)
        ingest_seconds = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM raw.analytics_events").fetchone()[0]
        spent = stages(landing, tokenizer, known_reference(conn))
    after = baselines(env, rows, to_sql_rows, "after")
    lines = sum(r.lines for r in results)
    accepted = sum(r.accepted for r in results)
    # Nothing lost: every landed line is accounted for, and what was accepted is stored.
    assert lines == generated.lines, (lines, generated.lines)
    assert lines == accepted + sum(r.duplicates + r.dead_lettered for r in results)
    assert stored == accepted
    spent["+ dedupe, resolve orgs, write, ledgers (the whole ingest)"] = ingest_seconds
    print("  where the ingest's time goes (cumulative):")
    print("\n".join(f"    {stage:<58}{seconds:>7.1f} s" for stage, seconds in spent.items()), flush=True)
    writes_seconds = writes_alone(new_database(env, "bench_ingest_writes"), landing, tokenizer)
    keyed_rate = (before[2] + after[2]) / 2
    cores = os.cpu_count() or 1
    print(
        f"  the ingest: {cpu['busy']:.1f} busy core-seconds ({cpu['self']:.1f} in Python, the rest mostly"
        f" PostgreSQL) in {ingest_seconds:.1f} s, {cpu['busy'] / ingest_seconds / cores:.0%} of {cores} cores\n"
        f"  its writes alone, every file parsed beforehand: {writes_seconds:.1f} s,"
        f" {lines / writes_seconds / keyed_rate:.2f}x the keyed COPY's rate",
        flush=True,
    )
    spent["the writes alone, every file parsed beforehand"] = writes_seconds

    ingest_rate = lines / ingest_seconds
    copy_rate = (before[0] + after[0]) / 2
    to_sql_rate = (before[1] + after[1]) / 2
    sample = min(to_sql_rows, len(rows))
    figures = [
        Figure(
            "ingest, events/s (1 M events)",
            ingest_rate,
            "/s",
            "plain COPY, unindexed table",
            copy_rate,
            True,
            ">= 0.5x",
            ingest_rate >= 0.5 * copy_rate,
        ),
        Figure(
            "ingest, events/s (1 M events)",
            ingest_rate,
            "/s",
            f"pandas to_sql(method='multi'), {sample:,} rows",
            to_sql_rate,
            True,
            ">= 20x",
            ingest_rate >= 20 * to_sql_rate,
        ),
        Figure(
            "ingest, events/s (1 M events)",
            ingest_rate,
            "/s",
            "COPY into ledger + events partition, parsed",
            keyed_rate,
            True,
            ">= 0.8x",
            ingest_rate >= 0.8 * keyed_rate,
        ),
        Figure(
            "COPY into ledger + events partition, rows/s",
            keyed_rate,
            "/s",
            "plain COPY, unindexed table",
            copy_rate,
            True,
        ),
    ]
    notes = {
        "ingest": {
            "lines": lines,
            "accepted": accepted,
            "batch_files": len(results),
            "seconds": ingest_seconds,
            "copy_rows": len(rows),
            "to_sql_rows": sample,
            "copy_rate_before_after": [before[0], after[0]],
            "to_sql_rate_before_after": [before[1], after[1]],
            "keyed_copy_rate_before_after": [before[2], after[2]],
            "stages_seconds": spent,
            "core_seconds": cpu,
        }
    }
    return figures, notes
