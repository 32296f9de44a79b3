"""Every topic of FleetEdge in one place: name, key, partitions, retention, what flows on it.

Vessel topics carry the names below on the vessel's own cluster; MirrorMaker 2's default
replication policy gives them ashore as ``<vessel>.<name>`` (see :func:`on_shore`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert
from fleetedge.events.base import Event
from fleetedge.events.deadletter import DeadLetter
from fleetedge.events.link import LinkReport
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

    @property
    def compression(self) -> dict[str, str]:
        """Its ``compression.*`` settings: how the brokers store it, and so how it crosses."""
        return {k: v for k, v in self.config.items() if k.startswith("compression.")}


# What crosses the link is compressed by the vessel's brokers, as its topic says, whatever the
# producer sent: a broker recompresses a batch whose codec is not its topic's (KIP-390). So the
# edge sends lz4, cheap on its hot path, and the link gets zstd at the level its topic asks.
LINK_ZSTD = {"compression.type": "zstd"}
# The windows are nearly all of the link's bytes: level 19 makes a batch of them 20 % smaller
# than the default 3 (BENCHMARKS.md, N3). A vessel writes them every 15 minutes, so the
# brokers' extra work is a few tens of milliseconds a quarter hour.
LINK_ZSTD_MAX = {"compression.type": "zstd", "compression.zstd.level": "19"}


def _vessel_config(
    retention_bytes: int, compression: dict[str, str] | None = None
) -> dict[str, str]:
    return {
        "retention.ms": str(VESSEL_RETENTION_MS),
        "retention.bytes": str(retention_bytes),
        "min.insync.replicas": "2",
        **(compression or {"compression.type": "producer"}),
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
    description=(
        "per-container window aggregates in the link's compact layout "
        "(application/x-fleetedge-window, fleetedge.events.compact), mirrored ashore"
    ),
    config=_vessel_config(2 * GIB, LINK_ZSTD_MAX),
)
ALERTS = TopicSpec(
    "reefer.alerts",
    key="container_id, or vessel_id for vessel-wide alerts",
    partitions=1,
    events=(Alert,),
    description="alerts raised and cleared on board, mirrored ashore ahead of bulk traffic",
    config=_vessel_config(GIB, LINK_ZSTD),
)
STATUS = TopicSpec(
    "vessel.status",
    key="vessel_id",
    partitions=1,
    events=(VesselStatus,),
    description="the vessel summary every interval; its arrival ashore is the heartbeat",
    config=_vessel_config(GIB, LINK_ZSTD),
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
    config=_vessel_config(GIB, LINK_ZSTD),
)
CONTROLS = TopicSpec(
    "reefer.controls",
    key="container_id",
    partitions=1,
    events=(Command,),
    description=(
        "commands the vessel's command handler passed on to the reefer controllers, each "
        "once, in the transaction that acknowledges its delivery"
    ),
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
    CONTROLS,
    TELEMETRY_DLQ,
)


# A vessel id: lower-case letters, digits, ``-`` and ``_``, up to 63 characters, no dot. Kafka
# allows dots in topic names, but ashore the dot separates the vessel from its topic
# (``<vessel>.reefer.alerts``), and the shore's ACL prefixes (``<vessel>.``) rely on that.
# Lower case keeps an id usable as a Kubernetes resource name too.
VESSEL_ID = r"[a-z0-9][a-z0-9_-]{0,62}"
_VESSEL_ID = re.compile(VESSEL_ID)


def is_vessel_id(name: str) -> bool:
    return _VESSEL_ID.fullmatch(name) is not None and name != "shore"


def on_shore(vessel_id: str, spec: TopicSpec) -> str:
    """The shore name of a mirrored vessel topic (MirrorMaker 2 DefaultReplicationPolicy)."""
    return f"{vessel_id}.{spec.name}"


# -- shore ------------------------------------------------------------------------------------
# The normalizer merges every vessel's mirrored topics into these, keyed so that what must be
# processed in order shares a partition; the analytics and projector read only these.
SHORE_RETENTION_MS = 30 * DAY_MS


def _shore_config(*, compact: bool = False) -> dict[str, str]:
    if compact:
        return {"cleanup.policy": "compact", "min.insync.replicas": "2"}
    return {"retention.ms": str(SHORE_RETENTION_MS), "min.insync.replicas": "2"}


FLEET_WINDOWS = TopicSpec(
    "fleet.windows",
    key="vessel_id/container_id",
    # 12: the analytics split evenly over 1, 2, 3, 4, 6 or 12 workers.
    partitions=12,
    events=(ContainerWindow,),
    description="every vessel's container windows, validated, keyed per container",
    config=_shore_config(),
)
FLEET_ALERTS = TopicSpec(
    "fleet.alerts",
    key="vessel_id/alert_id",
    partitions=3,
    events=(Alert,),
    description="every vessel's alerts, validated, keyed per alert so raise precedes clear",
    config=_shore_config(),
)
FLEET_STATUS = TopicSpec(
    "fleet.status",
    key="vessel_id",
    partitions=3,
    events=(VesselStatus,),
    description="every vessel's status summaries, validated",
    config=_shore_config(),
)
FLEET_ACKS = TopicSpec(
    "fleet.command_acks",
    key="vessel_id/command_id",
    partitions=3,
    events=(CommandAck,),
    description="every vessel's command acknowledgements, validated",
    config=_shore_config(),
)
FLEET_COMMAND_LOG = TopicSpec(
    "fleet.command-log",
    key="vessel_id/container_id",
    partitions=3,
    events=(Command,),
    description=(
        "every command an operator issued, as requested, written in the transaction that "
        "queues it on the vessel's commands topic: the audit log the lifecycle starts from"
    ),
    config=_shore_config(),
)
FLEET_LINK = TopicSpec(
    "fleet.link",
    key="vessel_id",
    partitions=3,
    events=(LinkReport,),
    description="the link supervisor's reports on each vessel's link",
    config=_shore_config(),
)
FLEET_DLQ = TopicSpec(
    "fleet.dlq",
    key="the rejected record's key",
    partitions=1,
    events=(DeadLetter,),
    description="records from vessels the shore could not accept, with the reason in headers",
    config=_shore_config(),
)

SHORE_INPUTS: tuple[TopicSpec, ...] = (
    FLEET_WINDOWS,
    FLEET_ALERTS,
    FLEET_STATUS,
    FLEET_ACKS,
    FLEET_COMMAND_LOG,
    FLEET_LINK,
    FLEET_DLQ,
)

# Written by the fleet analytics, read by the projector and the API.
FLEET_KPIS = TopicSpec(
    "fleet.kpi-partials",
    key="vessel_id",
    partitions=6,
    events=(),
    description=(
        "each vessel's share of the fleet KPIs after its every change (its counters and how "
        "many changes; shore/kpis.py): the fleet's KPIs are their sum, taken by the reader; "
        "compacted"
    ),
    config=_shore_config(compact=True),
)
FLEET_COMPLETENESS = TopicSpec(
    "fleet.completeness",
    key="vessel_id/container_id",
    partitions=12,
    events=(),
    description="per container, the reading ranges that reached shore and the gaps; compacted",
    config=_shore_config(compact=True),
)
