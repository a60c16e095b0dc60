"""Retention: raw learner data is not kept forever.

Past `raw_days`, a received day's events partition is detached and dropped whole, with its
survey free text and its landed files, once the rollups and marts reflect it: the marts keep
their figures, since every mart is built from intermediates that outlive the raw events. The
event-id ledger keeps its own window, so a client's late retry is still a duplicate after its
day's events are gone. Dead letters and quarantined files have windows of their own. What was
let go is recorded in raw.retention_cutoffs, for the ledger checks and the automation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg

from analytics_pipeline.config import RetentionSettings
from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.landing import partition_folder


@dataclass
class RetentionSummary:
    partitions_dropped: list[str] = field(default_factory=list)
    survey_texts_deleted: int = 0
    landed_files_deleted: int = 0
    event_ids_deleted: int = 0
    dead_letters_deleted: int = 0
    quarantined_files_deleted: int = 0


def _remove_folder(folder: Path) -> int:
    """Delete a landing folder's files and the folder; how many files went."""
    if not folder.exists():
        return 0
    files = [path for path in folder.iterdir() if path.is_file()]
    for path in files:
        path.unlink()
    folder.rmdir()
    return len(files)


def apply_retention(
    conn: psycopg.Connection,
    landing: Path,
    settings: RetentionSettings,
    today: date,
    rolled_up: Callable[[str], bool],
) -> RetentionSummary:
    """Let go of what is older than each window, counted from `today`. `rolled_up(day)` says
    whether the marts reflect a received day; a day still waiting for its rollup is kept."""
    summary = RetentionSummary()
    raw_before = today - timedelta(days=settings.raw_days)
    old_days = [
        day for (day,) in conn.execute("SELECT * FROM raw.analytics_events_partition_days()") if day < raw_before
    ]
    waiting = [day for day in old_days if not rolled_up(day.isoformat())]
    for day in old_days:
        if day in waiting:
            continue
        with conn.transaction():
            conn.execute("SELECT raw.drop_analytics_events_partition(%s)", (day,))
            deleted = conn.execute("DELETE FROM raw.survey_free_text WHERE received_date = %s", (day,))
            summary.survey_texts_deleted += deleted.rowcount
        summary.partitions_dropped.append(day.isoformat())
        summary.landed_files_deleted += _remove_folder(partition_folder(landing, day))
    # A day kept for its rollup keeps the cutoff before it, so the automation still rolls it up.
    events_before = min([raw_before, *waiting])
    event_ids_before = today - timedelta(days=settings.event_id_days)
    dead_letters_before = today - timedelta(days=settings.dead_letter_days)
    with conn.transaction():
        summary.event_ids_deleted = conn.execute(
            "DELETE FROM raw.analytics_event_ids WHERE received_date < %s", (event_ids_before,)
        ).rowcount
        summary.dead_letters_deleted = conn.execute(
            "DELETE FROM raw.analytics_dead_letters WHERE received_date < %s", (dead_letters_before,)
        ).rowcount
        for kind, before in (
            ("events", events_before),
            ("event_ids", event_ids_before),
            ("dead_letters", dead_letters_before),
        ):
            conn.execute(load_sql("lifecycle/record_cutoff"), {"kind": kind, "before": before})
    quarantine_before = today - timedelta(days=settings.quarantine_days)
    for (landing_path,) in conn.execute(load_sql("lifecycle/expired_quarantined_files"), {"before": quarantine_before}):
        path = landing / landing_path
        if path.exists():
            path.unlink()
            summary.quarantined_files_deleted += 1
    return summary
