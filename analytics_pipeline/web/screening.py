"""Screen one posted batch against the event contract and land its accepted events.

The receiver stamps `receivedAt` itself. An event is answered accepted only once it is in a
landed batch file on disk (fsynced, renamed in); ingestion then dedupes it again against the
event-id ledger, which is what makes a client's retry of an acknowledged batch harmless.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from analytics_pipeline.ingestion.contract import (
    MAX_NESTING,
    Rejection,
    check_line,
    latest_received_at,
    nested_deeper_than,
)
from analytics_pipeline.ingestion.landing import batch_file_path, write_batch_file


@dataclass
class Screened:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)

    def answer(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "failed": self.failed}


@dataclass(frozen=True)
class OrgBinding:
    """A write key bound to one org lands that org's events only. An event claiming another org
    is refused here; every other is stamped with the key's org (`orgId`, and `keyOrgId`, which
    makes it final), and ingestion keeps it in that org or dead-letters it (org_mismatch): the
    rule lives in one place, raw.pick_org, for every route, replay and re-ingestion."""

    org: str

    def refusal(self, event: dict) -> str | None:
        claimed = event.get("orgId")
        if claimed is not None and claimed != self.org:
            return f"org_not_allowed: this write key lands events of org {self.org!r} only"
        return None


def client_id(event) -> str | None:
    value = event.get("clientEventId") if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


def candidate_ids(events: list) -> list[uuid.UUID]:
    """The well-formed event ids of a batch, to look up in the event-id ledger."""
    ids = []
    for event in events:
        try:
            ids.append(uuid.UUID(client_id(event) or ""))
        except ValueError:
            continue
    return ids


def screen(events: list, received_at: datetime, known: set[str], binding: OrgBinding | None = None) -> Screened:
    """Split a batch into accepted lines, duplicates (of `known` ids or of an earlier event
    in the batch) and failures with their reason."""
    out, seen = Screened(), set(known)
    stamp = received_at.isoformat().replace("+00:00", "Z")
    latest = latest_received_at(received_at)
    for event in events:
        event_id = client_id(event)
        if not isinstance(event, dict):
            out.failed.append({"clientEventId": None, "reason": "invalid_json: an event must be a JSON object"})
            continue
        if nested_deeper_than(event):
            reason = f"invalid_value: the event is nested deeper than {MAX_NESTING} levels"
            out.failed.append({"clientEventId": event_id, "reason": reason})
            continue
        refusal = binding.refusal(event) if binding else None
        if refusal:
            out.failed.append({"clientEventId": event_id, "reason": refusal})
            continue
        stamped = {**event, "receivedAt": stamp}
        stamped.pop("keyOrgId", None)  # the key's org is the web app's to state, never the client's
        if binding:
            stamped["orgId"] = stamped["keyOrgId"] = binding.org
        line = orjson.dumps(stamped)
        checked = check_line(line, latest)
        if isinstance(checked, Rejection):
            out.failed.append({"clientEventId": event_id, "reason": f"{checked.code}: {checked.reason}"})
            continue
        canonical = str(checked.clientEventId)
        if canonical in seen:
            out.duplicates.append(event_id)
            continue
        seen.add(canonical)
        out.accepted.append(event_id)
        out.lines.append(line)
    return out


def land(root: Path, received_at: datetime, lines: list[bytes], batch_id: str | None = None) -> Path:
    """One batch file in the received date's partition, durable before this returns."""
    path = batch_file_path(root, received_at.date(), batch_id or str(uuid.uuid4()))
    write_batch_file(path, b"\n".join(lines) + b"\n", durable=True)
    return path
