"""What a Caliper sensor posts: an envelope (`sensor`, `sendTime`, `dataVersion`, `data`), a
JSON array of envelopes (Open edX event-routing-backends' batching mode), or one bare event.

`events_in` returns the events one by one, with each string reference to an entity the
envelope describes replaced by that description (a sensor may describe an entity once in
`data` and name it by its IRI in the events); the entities themselves are not events and are
left out. A body that is none of the three is `NotCaliper` (the route's 400); an event that
breaks the specification is still returned, to be dead-lettered on its own."""

from __future__ import annotations

from typing import Any

CONTEXTS = {
    "http://purl.imsglobal.org/ctx/caliper/v1p1": "1.1",
    "http://purl.imsglobal.org/ctx/caliper/v1p2": "1.2",
}
ENVELOPE_FIELDS = ("sensor", "sendTime", "dataVersion", "data")
# The properties of an event that may name an entity by its IRI alone.
REFERENCES = ("actor", "object", "target", "generated", "group", "membership", "session", "edApp", "referrer")


class NotCaliper(ValueError):
    pass


def is_event(value: Any) -> bool:
    """An event, as opposed to an entity: it has an action, or its type names an event."""
    return isinstance(value, dict) and ("action" in value or str(value.get("type", "")).endswith("Event"))


def _resolved(event: dict, entities: dict[str, dict]) -> dict:
    if not entities:
        return event
    return {
        name: entities.get(value, value) if name in REFERENCES and isinstance(value, str) else value
        for name, value in event.items()
    }


def _envelope_events(envelope: dict, where: str) -> list[Any]:
    missing = [name for name in ENVELOPE_FIELDS if name not in envelope]
    if missing:
        raise NotCaliper(f"{where}: a Caliper envelope needs {', '.join(missing)}")
    if not isinstance(envelope["dataVersion"], str) or envelope["dataVersion"] not in CONTEXTS:
        raise NotCaliper(f"{where}.dataVersion: must be one of {', '.join(CONTEXTS)}")
    data = envelope["data"]
    if not isinstance(data, list):
        raise NotCaliper(f"{where}.data: must be an array of events and entities")
    entities = {item["id"]: item for item in data if _is_entity(item)}
    # Anything in `data` that is not an entity is passed on as an event, to be judged alone.
    return [_resolved(item, entities) if is_event(item) else item for item in data if not _is_entity(item)]


def _is_entity(item: Any) -> bool:
    return isinstance(item, dict) and not is_event(item) and isinstance(item.get("id"), str) and "type" in item


def events_in(payload: Any) -> list[Any]:
    """The events a body holds, in order; NotCaliper for a body that is no Caliper."""
    if isinstance(payload, list):
        if not payload or not all(isinstance(item, dict) and "data" in item for item in payload):
            raise NotCaliper("an array must hold Caliper envelopes (objects with sensor, sendTime, dataVersion, data)")
        return [event for index, item in enumerate(payload) for event in _envelope_events(item, f"[{index}]")]
    if isinstance(payload, dict) and "data" in payload:
        return _envelope_events(payload, "envelope")
    if is_event(payload):
        return [payload]
    raise NotCaliper("the body must be a Caliper envelope, an array of envelopes or one Caliper event")
