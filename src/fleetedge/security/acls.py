"""Who may do what on the shore cluster: one principal per vessel, one per shore service.

A vessel's principal is the identity of its link: its connectors on the shore's Connect
cluster, and its downlink (see ``link/connectors.py``, ``link/mirror.py``). It may create and
write only ``<vessel>.*``, commit its connectors' source offsets in Connect's offsets topic
under its own transactional ids, and read only its own commands topic. The Connect workers
themselves run as ``svc-connect``, which owns Connect's internal topics and group. Each shore
service may read the topics it consumes, write the ones it produces, and use its own consumer
groups and transactional ids;
a service that reads every vessel's topics gets ``<vessel>.*`` one vessel at a time, granted
with the vessel and revoked with it. Nothing is granted on ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from fleetedge.events import topics

Op = AclOperation
READ = (Op.READ, Op.DESCRIBE, Op.DESCRIBE_CONFIGS)
WRITE = (Op.WRITE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.CREATE)
OWN = (Op.ALL,)

NORMALIZER = "svc-normalizer"
ANALYTICS = "svc-analytics"
PROJECTOR = "svc-projector"
BACKFILL = "svc-backfill"
LINK = "svc-link"
API = "svc-api"
CONNECT = "svc-connect"
SERVICES = (NORMALIZER, ANALYTICS, PROJECTOR, BACKFILL, LINK, API, CONNECT)
# The shore's Connect cluster (fleetedge.link.connect): its group and internal topics.
CONNECT_GROUP = "fleet-link"
CONNECT_TOPICS = tuple(f"{CONNECT_GROUP}-{kind}" for kind in ("configs", "offsets", "status"))
CONNECT_OFFSETS = f"{CONNECT_GROUP}-offsets"
# Shore services that read every vessel's mirrored topics.
VESSEL_READERS = (NORMALIZER, LINK)
COMMANDS_PREFIX = "fleet.commands."
MM2_KINDS = ("offsets", "status", "configs")


@dataclass(frozen=True)
class Grant:
    """Allow ``operations`` on a resource, by literal name or by prefix."""

    resource: ResourceType
    name: str
    operations: tuple[AclOperation, ...]
    prefixed: bool = False

    def bindings(self, principal: str) -> list[AclBinding]:
        pattern = ResourcePatternType.PREFIXED if self.prefixed else ResourcePatternType.LITERAL
        return [
            AclBinding(
                self.resource,
                self.name,
                pattern,
                f"User:{principal}",
                "*",
                operation,
                AclPermissionType.ALLOW,
            )
            for operation in self.operations
        ]


def topic(name: str, operations: tuple[AclOperation, ...], *, prefixed: bool = False) -> Grant:
    return Grant(ResourceType.TOPIC, name, operations, prefixed)


def group(name: str, *, prefixed: bool = True) -> Grant:
    return Grant(ResourceType.GROUP, name, (Op.READ, Op.DESCRIBE), prefixed)


def transactions(name: str, *, prefixed: bool = True) -> Grant:
    return Grant(ResourceType.TRANSACTIONAL_ID, name, (Op.WRITE, Op.DESCRIBE), prefixed)


def vessel_grants(vessel: str) -> list[Grant]:
    """The vessel's own principal: its connectors ashore, and its downlink."""
    own = f"{vessel}."
    return [
        topic(own, (*WRITE, Op.ALTER_CONFIGS), prefixed=True),
        # Exactly-once source tasks commit their offsets in their own transactions, and read
        # them back when they start.
        topic(CONNECT_OFFSETS, (Op.READ, Op.WRITE, Op.DESCRIBE)),
        transactions(f"{CONNECT_GROUP}-{vessel}."),
        *(topic(f"mm2-{kind}.{vessel}.", OWN, prefixed=True) for kind in MM2_KINDS),
        topic(f"{COMMANDS_PREFIX}{vessel}", READ),
        # Each MirrorMaker 2 process makes sure the target's heartbeats topic exists, even
        # where it emits none: it may create it, not write to it.
        topic("heartbeats", (Op.CREATE, Op.DESCRIBE)),
        group(f"{vessel}-mm2-"),
    ]


def vessel_reader_grants(vessel: str) -> list[Grant]:
    """What a shore service that reads every vessel gets for this one."""
    return [topic(f"{vessel}.", READ, prefixed=True)]


def _shore(names: tuple[str, ...], operations: tuple[AclOperation, ...]) -> list[Grant]:
    return [topic(name, operations) for name in names]


def service_grants(service: str) -> list[Grant]:  # noqa: PLR0911 - one case per service
    """The fixed rights of a shore service (per-vessel reading comes with each vessel)."""
    windows, alerts, status, acks = (
        topics.FLEET_WINDOWS.name,
        topics.FLEET_ALERTS.name,
        topics.FLEET_STATUS.name,
        topics.FLEET_ACKS.name,
    )
    link, dlq, kpis, completeness = (
        topics.FLEET_LINK.name,
        topics.FLEET_DLQ.name,
        topics.FLEET_KPIS.name,
        topics.FLEET_COMPLETENESS.name,
    )
    command_log = topics.FLEET_COMMAND_LOG.name
    shore_topics = (windows, alerts, status, acks, link, dlq, kpis, completeness, command_log)
    if service == NORMALIZER:
        return [
            *_shore((windows, alerts, status, acks, dlq), WRITE),
            group("fleet-normalizer"),
            transactions("fleet-normalizer"),
        ]
    if service == ANALYTICS:
        internal = ("fleet-analytics", "changelog__fleet-analytics", "repartition__fleet-analytics")
        return [
            *_shore((windows, alerts, status, link), (*READ, Op.CREATE)),
            *_shore((kpis, completeness, dlq), WRITE),
            *(topic(name, OWN, prefixed=True) for name in internal),
            group("fleet-analytics"),
            transactions("fleet-analytics"),
        ]
    if service == PROJECTOR:
        return [*_shore(shore_topics, READ), group("fleetedge-")]
    if service == BACKFILL:
        return [
            *_shore((completeness, acks), READ),
            topic(COMMANDS_PREFIX, WRITE, prefixed=True),
            group("fleetedge-"),
        ]
    if service == API:
        return [
            *_shore(shore_topics, READ),
            topic(COMMANDS_PREFIX, WRITE, prefixed=True),
            topic(command_log, (Op.WRITE,)),
            # A command goes to the log and the vessel's topic in one transaction.
            transactions("fleetedge-api-"),
            group("fleetedge-"),
        ]
    if service == LINK:
        return [
            topic(COMMANDS_PREFIX, (Op.CREATE, Op.DESCRIBE), prefixed=True),
            topic(link, WRITE),
            topic(CONNECT_OFFSETS, READ),
            group("fleetedge-link-"),
        ]
    if service == CONNECT:
        return [
            *(topic(name, OWN) for name in CONNECT_TOPICS),
            group(CONNECT_GROUP, prefixed=False),
            # Under exactly-once, the leader writes connector configs in its own transactions.
            transactions(f"connect-cluster-{CONNECT_GROUP}", prefixed=False),
        ]
    raise ValueError(f"no such shore service principal: {service}")


def bindings(principal: str, grants: list[Grant]) -> list[AclBinding]:
    """The grants' bindings, each once: CreateAcls refuses a request that repeats one."""
    return list(dict.fromkeys(b for g in grants for b in g.bindings(principal)))
