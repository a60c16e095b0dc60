"""Settled landing folders: a received-date folder whose every file was handled (ingested or
quarantined) when it was last listed, and whose modification time has not moved since, holds
nothing new and is not listed again. The landing zone keeps a year or more of files
(`ANALYTICS_RAW_RETENTION_DAYS`): listing them all against the whole batch ledger, on every
landing-sensor tick and every health or metrics request, would grow with the history.

A folder's time could stay put for a file added within the same clock tick as the listing
that settled it, so a folder modified in the last SETTLED_AFTER_NS is not settled yet; and
the daily catch-up and `analytics-pipeline run` (`every_folder`) list every folder, whatever
is settled. An object store's folders have no modification time: there the time of each
folder's change marker stands in for it (landing.change_marker, written after every batch the
platform lands), and a folder without one is always listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.landing import BatchFile, partition_folders
from analytics_pipeline.ingestion.partition import pending_batches

SETTLED_AFTER_NS = 2_000_000_000


def settled_folders(conn: psycopg.Connection) -> dict[str, int]:
    """{partition: the folder's modification time when it settled}."""
    return {day.isoformat(): ns for day, ns in conn.execute(load_sql("ingest/settled_landing_folders"))}


@dataclass(frozen=True)
class LandingScan:
    """One look at the landing zone for files neither ingested nor quarantined yet."""

    folders: dict[str, int | None]  # every received-date folder, with its modification time
    recorded: dict[str, int]  # the settled folders as recorded before this look
    unchanged: dict[str, int]  # those of them it did not list: settled, and not modified since
    pending: list[BatchFile]

    @classmethod
    def of(cls, conn: psycopg.Connection, root: Path, every_folder: bool = False) -> LandingScan:
        folders = partition_folders(root)
        recorded = settled_folders(conn)
        unchanged = {} if every_folder else {key: ns for key, ns in recorded.items() if folders.get(key) == ns}
        listed = [key for key in folders if key not in unchanged]
        # Every folder to list: the whole ledger in one query rather than one a day.
        pending = pending_batches(conn, root, None if len(listed) == len(folders) else listed)
        return cls(folders, recorded, unchanged, pending)

    def now_settled(self) -> dict[str, int]:
        """The folders settled after this look: those it did not list, and those it listed
        with nothing pending and not modified in the last SETTLED_AFTER_NS."""
        now_ns = time.time_ns()
        waiting = {batch.partition_key for batch in self.pending}
        return {
            key: ns
            for key, ns in self.folders.items()
            if ns is not None
            and key not in waiting
            and (self.unchanged.get(key) == ns or now_ns - ns > SETTLED_AFTER_NS)
        }

    def record(self, conn: psycopg.Connection) -> None:
        """Store what this look settled (the pipeline's role does; the web's only reads)."""
        settled = self.now_settled()
        if settled != self.recorded:
            conn.execute(
                load_sql("ingest/record_settled_landing_folders"),
                {"days": [date.fromisoformat(key) for key in settled], "stamps": list(settled.values())},
            )
