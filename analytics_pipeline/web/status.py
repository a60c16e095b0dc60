"""The pipeline's freshness and ingest lag as the web app reports them, recomputed at most
every few seconds: ingest lag lists the landing zone, which no request should wait on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from starlette.concurrency import run_in_threadpool

from analytics_pipeline.monitoring.figures import IngestLag, MartFreshness, dead_letter_rate, ingest_lag, mart_freshness


@dataclass(frozen=True)
class PipelineStatus:
    freshness: MartFreshness
    lag: IngestLag
    landed_lines: int  # over the dead-letter window's received days
    dead_lettered: int
    runs_failed: int  # in the last day, as the run-failure sensor recorded them

    @property
    def dead_letter_ratio(self) -> float:
        return self.dead_lettered / self.landed_lines if self.landed_lines else 0.0


class StatusCache:
    def __init__(self, database_url: str, landing: Path, ttl_seconds: float, dead_letter_window_days: int):
        self.database_url, self.landing, self.ttl = database_url, landing, ttl_seconds
        self.dead_letter_window_days = dead_letter_window_days
        self._value: PipelineStatus | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    def _compute(self) -> PipelineStatus:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            lines, dead = dead_letter_rate(conn, self.dead_letter_window_days)
            (failed,) = conn.execute("SELECT web.runs_failed_since(now() - interval '1 day')").fetchone()
            return PipelineStatus(mart_freshness(conn), ingest_lag(conn, self.landing), lines, dead, failed)

    async def current(self) -> PipelineStatus:
        async with self._lock:
            if self._value is None or time.monotonic() - self._at >= self.ttl:
                self._value = await run_in_threadpool(self._compute)
                self._at = time.monotonic()
            return self._value
