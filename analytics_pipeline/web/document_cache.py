"""Admin documents already rendered under a role, kept for a few seconds.

A document is one large statement whose plan depends on the role's row-level security, so
PostgreSQL plans it again for almost every request. The marts it reads change at most once
per pipeline run. A cached document is only handed back to a request of the same role, for
the same parameters and the same `data_fresh_as_of`, and only after PostgreSQL has checked
that role's access to the org again (sql/api/org_access.sql): the cache saves the reading of
the marts, never the decision of who may read them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable


class DocumentCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 2048):
        self.ttl, self.max_entries = ttl_seconds, max_entries
        self._entries: OrderedDict[Hashable, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, value = found
            if time.monotonic() - stored_at >= self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: dict) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
