"""Every topic of FleetEdge in one place: name, key, partitions, retention, what flows on it.

Vessel topics carry the names below on the vessel's own cluster; MirrorMaker 2's default
replication policy gives them ashore as ``<vessel>.<name>`` (see :func:`on_shore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert
from fleetedge.events.base import Event
from fleetedge.events.deadletter import DeadLetter
from fleetedge.events.telemetry import ReeferReading
from fleetedge.events.vessel import Command, CommandAck, VesselStatus

DAY_MS = 24 * 3600 * 1000
# Vessel retention must outlast the longest link outage we promise (30 days), or MirrorMaker 2
# silently skips what was purged. 40 days leaves a margin; size bounds it per partition.
VESSEL_RETENTION_MS = 40 * DAY_MS
GIB = 1024**3


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    partitions: int
    events: tuple[type[Event], ...]
    description: str
    config: dict[str, str] = field(default_factory=dict)


def _vessel_config(retention_bytes: int) -> dict[str, str]:
    return {
        "retention.ms": str(VESSEL_RETENTION_MS),
        "retention.bytes": str(retention_bytes),
        "min.insync.replicas": "2",
        "compression.type": "producer",
    }


# One partition per vessel: the edge correlates every container of the vessel, and one order
# makes its output repeatable; 2,500 reefers at one reading a second is far within one partition.
TELEMETRY = TopicSpec(
    "reefer.telemetry",
    key="container_id",
    partitions=1,
    events=(ReeferReading,),
    description="raw readings of every reefer on board; stays on the vessel unless asked for",
    config=_vessel_config(8 * GIB),
)
AGGREGATES = TopicSpec(
    "reefer.aggregates",
    key="container_id",
    partitions=3,
    events=(ContainerWindow,),
    description="per-container window aggregates, mirrored ashore",
    config=_vessel_config(2 * GIB),
)
ALERTS = TopicSpec(
    "reefer.alerts",
    key="container_id, or vessel_id for vessel-wide alerts",
    partitions=1,
    events=(Alert,),
    description="alerts raised and cleared on board, mirrored ashore ahead of bulk traffic",
    config=_vessel_config(GIB),
)
STATUS = TopicSpec(
    "vessel.status",
    key="vessel_id",
    partitions=1,
    events=(VesselStatus,),
    description="the vessel summary every interval; its arrival ashore is the heartbeat",
    config=_vessel_config(GIB),
)
COMMANDS = TopicSpec(
    "vessel.commands",
    key="vessel_id",
    partitions=1,
    events=(Command,),
    description="orders from shore, mirrored to the vessel",
    config=_vessel_config(GIB),
)
COMMAND_ACKS = TopicSpec(
    "vessel.command_acks",
    key="command_id",
    partitions=1,
    events=(CommandAck,),
    description="the vessel's acknowledgements of commands, mirrored ashore",
    config=_vessel_config(GIB),
)
TELEMETRY_DLQ = TopicSpec(
    "reefer.telemetry.dlq",
    key="the rejected record's key",
    partitions=1,
    events=(DeadLetter,),
    description="telemetry rejected at ingest or by the edge, with the reason in headers",
    config=_vessel_config(GIB),
)

VESSEL_TOPICS: tuple[TopicSpec, ...] = (
    TELEMETRY,
    AGGREGATES,
    ALERTS,
    STATUS,
    COMMANDS,
    COMMAND_ACKS,
    TELEMETRY_DLQ,
)


def on_shore(vessel_id: str, spec: TopicSpec) -> str:
    """The shore name of a mirrored vessel topic (MirrorMaker 2 DefaultReplicationPolicy)."""
    return f"{vessel_id}.{spec.name}"
