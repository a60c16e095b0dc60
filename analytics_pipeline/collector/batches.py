"""Screen one posted batch against the event contract and land its accepted events.

The collector is the receiver, so it stamps `receivedAt` itself. An event is answered
accepted only once it is in a landed batch file on disk (fsynced, renamed in); ingestion
then dedupes it again against the event-id ledger, which is what makes a client's retry of
an acknowledged batch harmless.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson
import psycopg

from analytics_pipeline.ingestion.contract import (
    Rejection,
    check_line,
    latest_received_at,
)
from analytics_pipeline.ingestion.landing import write_batch_file


@dataclass
class Screened:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)

    def answer(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "failed": self.failed}


def _client_id(event) -> str | None:
    value = event.get("clientEventId") if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


def screen(events: list, received_at: datetime, known: set[str]) -> Screened:
    """Split a batch into accepted lines, duplicates (of `known` ids or of an earlier event
    in the batch) and failures with their reason."""
    out, seen = Screened(), set(known)
    stamp = received_at.isoformat().replace("+00:00", "Z")
    latest = latest_received_at(received_at)
    for event in events:
        client_id = _client_id(event)
        if not isinstance(event, dict):
            out.failed.append({"clientEventId": None, "reason": "invalid_json: an event must be a JSON object"})
            continue
        line = orjson.dumps({**event, "receivedAt": stamp})
        checked = check_line(line, latest)
        if isinstance(checked, Rejection):
            out.failed.append({"clientEventId": client_id, "reason": f"{checked.code}: {checked.reason}"})
            continue
        event_id = str(checked.clientEventId)
        if event_id in seen:
            out.duplicates.append(client_id)
            continue
        seen.add(event_id)
        out.accepted.append(client_id)
        out.lines.append(line)
    return out


def known_ids(conn: psycopg.Connection, events: list) -> set[str]:
    """Which of the batch's (well-formed) event ids the event-id ledger already holds."""
    candidates = []
    for event in events:
        try:
            candidates.append(str(uuid.UUID(_client_id(event) or "")))
        except ValueError:
            continue
    if not candidates:
        return set()
    rows = conn.execute(
        "SELECT client_event_id::text FROM raw.analytics_event_ids WHERE client_event_id = ANY(%s::uuid[])",
        (candidates,),
    )
    return {row[0] for row in rows}


def land(root: Path, received_at: datetime, lines: list[bytes]) -> Path:
    """One batch file in the received date's partition, durable before this returns."""
    path = root / "events" / f"received_date={received_at.date().isoformat()}" / f"{uuid.uuid4()}.ndjson"
    write_batch_file(path, b"\n".join(lines) + b"\n", durable=True)
    return path
