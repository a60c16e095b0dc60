"""The figures the asset checks judge, computed from the database and the landing zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from analytics_pipeline.db.sqlfiles import load_sql
from analytics_pipeline.ingestion.landing import landed_at
from analytics_pipeline.ingestion.settled_folders import LandingScan


@dataclass(frozen=True)
class IngestLag:
    pending_files: int
    oldest_path: str | None
    lag_seconds: float  # age of the oldest landed, not yet ingested file; 0 when none


@dataclass(frozen=True)
class MartFreshness:
    data_fresh_as_of: datetime | None
    newest_received_at: datetime | None
    age_seconds: float | None  # now - data_fresh_as_of

    @property
    def behind(self) -> bool:
        """Newer data has been ingested than the marts reflect."""
        if self.newest_received_at is None:
            return False
        return self.data_fresh_as_of is None or self.newest_received_at > self.data_fresh_as_of

    def stale(self, sla_seconds: float) -> bool:
        """The freshness SLA is breached: newer data waits and the marts are older than the
        SLA. A quiet period with nothing newer to reflect is not a breach."""
        return self.behind and (self.age_seconds is None or self.age_seconds > sla_seconds)


def ingest_lag(conn: psycopg.Connection, root: Path, now: datetime | None = None) -> IngestLag:
    now = now or datetime.now(UTC)
    pending = LandingScan.of(conn, root).pending
    if not pending:
        return IngestLag(0, None, 0.0)
    landed = {b.landing_path: landed_at(b.path) for b in pending}
    oldest = min(landed, key=landed.get)
    return IngestLag(len(pending), oldest, max(0.0, now.timestamp() - landed[oldest]))


def mart_freshness(conn: psycopg.Connection, now: datetime | None = None) -> MartFreshness:
    now = now or datetime.now(UTC)
    fresh, newest = conn.execute(load_sql("monitoring/mart_freshness")).fetchone()
    return MartFreshness(fresh, newest, (now - fresh).total_seconds() if fresh else None)


def event_id_integrity(conn: psycopg.Connection) -> dict[str, int]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("monitoring/event_id_integrity")).fetchone()


def unbalanced_batches(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("monitoring/batch_conservation")).fetchall()


def dead_letter_rate(conn: psycopg.Connection, days: int = 7) -> tuple[int, int]:
    """(lines, dead-lettered) over the last `days` received days."""
    return conn.execute(load_sql("monitoring/dead_letter_rate"), {"days": days}).fetchone()
