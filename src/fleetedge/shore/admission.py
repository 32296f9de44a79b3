"""What the shore accepts on its topics, and the dead letter of what it does not.

The normalizer checks every vessel record before it reaches a ``fleet.*`` topic, but anything
with write access can put bytes there, so the analytics check again before a record touches a
state store: a malformed record is dead-lettered with its reason and changes no KPI.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from fleetedge.events import DeadLetter, Event, EventError
from fleetedge.events import topics as t
from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert
from fleetedge.events.codec import validate_as
from fleetedge.events.exceptions import DecodeError, UnsupportedVersion
from fleetedge.events.link import LinkReport

# What each fleet topic the analytics read carries.
CARRIES: dict[str, type[Event]] = {
    t.FLEET_WINDOWS.name: ContainerWindow,
    t.FLEET_ALERTS.name: Alert,
    t.FLEET_LINK.name: LinkReport,
}


class WrongTopic(EventError):
    """A valid event of another kind than its topic carries."""


def admit(topic: str, value: bytes | None) -> dict[str, Any]:
    """The record of a fleet topic as JSON, once it holds as the event its topic carries;
    an :class:`EventError` with the reason otherwise."""
    if not value:
        raise DecodeError("empty record")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise DecodeError(f"a JSON {type(doc).__name__}, not an event object")
    cls = CARRIES[topic]
    if doc.get("kind") != cls.KIND:
        raise WrongTopic(f"{doc.get('kind')!r} on {topic}, which carries {cls.KIND}", field="kind")
    if not cls.reads(doc.get("schema_version")):
        raise UnsupportedVersion(
            f"{cls.KIND} schema_version {doc.get('schema_version')!r}; this code reads "
            f"1 to {cls.VERSION}",
            field="schema_version",
        )
    validate_as(cls, doc)
    return doc


@dataclass(frozen=True)
class Source:
    """Where a rejected record was read."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


def vessel_of(text: str) -> str:
    """The vessel a topic or key starts with (``vessel-7.reefer.alerts``, ``vessel-7/MSCU..``),
    or ``unknown`` when it names none."""
    vessel = re.split(r"[./]", text, maxsplit=1)[0]
    return vessel if re.fullmatch(r"[a-z][a-z0-9-]{0,31}", vessel) else "unknown"


def dead_letter(
    service: str,
    source: Source,
    payload: bytes,
    *,
    vessel: str,
    error: str,
    reason: str,
    field: str | None = None,
) -> DeadLetter:
    """The dead letter of a record ``service`` rejected (``error`` names the EventError class);
    its id is derived from where the record was read, so a record read twice makes the same
    letter."""
    return DeadLetter(
        event_id=uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"fleetedge:{service}:{source.topic}:{source.partition}:{source.offset}",
        ),
        vessel_id=vessel,
        event_time=datetime.fromtimestamp(max(source.timestamp_ms, 0) / 1000, UTC),
        # Numbered by source offset: unique and increasing per source partition.
        seq=source.offset + 1,
        service=service,
        reason=reason[:1000] or error,
        error=error,
        field=field,
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        payload=payload,
    )
