"""A CSV export streamed from COPY … TO STDOUT as the caller's role.

libpq hands COPY data over a row at a time, and an async step per row costs several times the
COPY itself: a worker thread reads the rows on a blocking connection into blocks, which the
response sends as they come. The queue between them is short, so a slow client slows the COPY
instead of filling memory, and a client that goes away stops it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql
from starlette.concurrency import run_in_threadpool

from analytics_pipeline.web.database import EXPORT_TIMEOUT, role_switch

BLOCK_BYTES = 256 * 1024
_DONE = object()


class CopyStream:
    def __init__(self, database_url: str, role: str, copy: sql.Composable, params: dict):
        self.database_url, self.role, self.copy, self.params = database_url, role, copy, params
        self._blocks: queue.Queue = queue.Queue(maxsize=4)
        self._stopped = threading.Event()

    def _put(self, item) -> bool:
        while not self._stopped.is_set():
            try:
                self._blocks.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            with psycopg.connect(self.database_url) as conn:
                conn.execute(role_switch(self.role, EXPORT_TIMEOUT))
                block = bytearray()
                with conn.cursor() as cur, cur.copy(self.copy, self.params) as rows:
                    for row in rows:
                        block += row
                        if len(block) >= BLOCK_BYTES:
                            if not self._put(bytes(block)):
                                return
                            block.clear()
                if block:
                    self._put(bytes(block))
        except Exception as exc:  # the response has started: ending it early is all that is left
            self._put(exc)
        finally:
            self._put(_DONE)

    async def blocks(self) -> AsyncIterator[bytes]:
        worker = threading.Thread(target=self._produce, name="csv-export", daemon=True)
        worker.start()
        try:
            while (item := await run_in_threadpool(self._blocks.get)) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._stopped.set()
