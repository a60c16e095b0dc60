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
import psycopg

from analytics_pipeline.ingestion.contract import Rejection, check_line, latest_received_at
from analytics_pipeline.ingestion.landing import write_batch_file
from analytics_pipeline.ingestion.pii import Tokenizer


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
    """A write key bound to one org lands that org's events only: an event claiming another
    org is refused, one claiming none is stamped with the key's org, and one whose learner is
    enrolled in the course elsewhere but not in this org is refused (org resolution would
    otherwise give it to the other org)."""

    org: str
    enrolled: dict[tuple[str, str], list[str]]  # (userId, courseId) -> orgs enrolling them

    def refusal(self, event: dict) -> str | None:
        claimed = event.get("orgId")
        if claimed is not None and claimed != self.org:
            return f"org_not_allowed: this write key lands events of org {self.org!r} only"
        orgs = self.enrolled.get((event.get("userId"), event.get("courseId")))
        if orgs and self.org not in orgs:
            return f"org_not_allowed: the learner is enrolled in this course in another org, not in {self.org!r}"
        return None


async def org_binding(
    conn: psycopg.AsyncConnection, org: str | None, tokenizer: Tokenizer, events: list
) -> OrgBinding | None:
    """The binding of a write key to `org` (None: an unbound key), with the orgs enrolling
    each (userId, courseId) the events name."""
    if org is None:
        return None
    pairs = {(e.get("userId"), e.get("courseId")) for e in events if isinstance(e, dict)}
    by_token = {(tokenizer.token(u), c): (u, c) for u, c in pairs if isinstance(u, str) and isinstance(c, str)}
    rows = await (
        await conn.execute(
            "SELECT user_token, course_id, orgs FROM web.enrolled_orgs(%s, %s)",
            ([t for t, _ in by_token], [c for _, c in by_token]),
        )
    ).fetchall()
    return OrgBinding(org, {by_token[(token, course)]: orgs for token, course, orgs in rows})


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
        refusal = binding.refusal(event) if binding else None
        if refusal:
            out.failed.append({"clientEventId": event_id, "reason": refusal})
            continue
        stamped = {**event, "receivedAt": stamp}
        if binding:
            stamped["orgId"] = binding.org
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
    name = f"{batch_id or uuid.uuid4()}.ndjson"
    path = root / "events" / f"received_date={received_at.date().isoformat()}" / name
    write_batch_file(path, b"\n".join(lines) + b"\n", durable=True)
    return path
