"""The edge state's keys: the persisted schema of its compacted changelog.

Every key the edge writes is named here and nowhere else. A change of a key's name or of its
value's shape is a change of the changelog's schema: bump :data:`STATE_VERSION` and give the
edge a way to read the previous version (a changelog outlives any one release aboard).

Values are JSON. Per container ``C``: ``w:C:START_MS`` an open window's state (see
:mod:`fleetedge.edge.windows`), ``s:C`` the highest seq seen, ``p:C`` the last
``[power_kw, lat, lon]``, ``c:C`` the rules' state (open alerts, counters). For the vessel:
the event-time watermark (ms), the known container ids, sequence counters of the records it
emits, open power incidents and pending power losses, and the next input offset.
"""

from __future__ import annotations

STATE_VERSION = 1

POSITION = "@position"  # the next input offset; no other key starts with "@"
WATERMARK = "watermark"
CONTAINER_IDS = "ids"
ALERT_SEQ = "alert_seq"
STATUS_SEQ = "status_seq"
DEAD_LETTER_SEQ = "dlq_seq"
POWER_PENDING = "power_pending"
LAST_SWEEP = "last_sweep"
WINDOW_PREFIX = "w:"
INCIDENT_PREFIX = "incident:"


def window(container: str, start_ms: int) -> str:
    return f"{WINDOW_PREFIX}{container}:{start_ms}"


def parse_window(key: str) -> tuple[str, int]:
    """(container, start ms) of a :func:`window` key."""
    _, container, start_ms = key.split(":")
    return container, int(start_ms)


def last_seq(container: str) -> str:
    return f"s:{container}"


def last_point(container: str) -> str:
    return f"p:{container}"


def rules(container: str) -> str:
    return f"c:{container}"


def incident(kind: str, bay: int | None, since: int) -> str:
    return f"{INCIDENT_PREFIX}{kind}:{bay}:{since}"
