"""Putting one vessel behind the link: its topics, its proxies, its connectors, its downlink."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import structlog
from confluent_kafka import KafkaException

from fleetedge.events import topics
from fleetedge.link.connectors import uplink_configs, write_secret
from fleetedge.link.emulator import LinkEmulator
from fleetedge.link.exceptions import LinkError
from fleetedge.link.mirror import (
    BULK,
    DOWNLINK,
    UPLINKS,
    LinkEndpoints,
    MirrorProcess,
    commands_topic,
    with_telemetry,
)
from fleetedge.link.vessels import VesselLink
from fleetedge.runtime.cluster import KafkaCluster
from fleetedge.runtime.health import create_topic, set_topic_config
from fleetedge.runtime.jvm import KafkaRuntime
from fleetedge.security import clients
from fleetedge.security.clients import ClientAuth

log = structlog.get_logger("fleetedge.link.setup")


# MirrorMaker 2's heartbeats topic aboard, where the downlink writes one every 5 s: it makes the
# topic compacted, one partition, one key. Its segments roll every minute here (Kafka's default
# is a week), so the cleaner keeps a few of an outage's heartbeats, not all 720 an hour leaves:
# the priority flow would carry every one ashore after the cut, beside the alerts.
HEARTBEATS_ABOARD = "heartbeats"
HEARTBEATS_CONFIG = {"cleanup.policy": "compact", "segment.ms": "60000"}


def ensure_topics(vessel: KafkaCluster, shore: KafkaCluster) -> None:
    """The vessel's topics aboard, and the vessel's command topic ashore."""
    made = create_topic(
        vessel.bootstrap_servers,
        HEARTBEATS_ABOARD,
        partitions=1,
        replication_factor=vessel.replication_factor,
        config=HEARTBEATS_CONFIG,
    )
    if not made:  # made by a downlink of an earlier release, with a week's segments
        try:
            set_topic_config(vessel.bootstrap_servers, HEARTBEATS_ABOARD, HEARTBEATS_CONFIG)
        except KafkaException as exc:  # not fatal: an outage's heartbeats all cross, as before
            log.warning("heartbeats aboard keep Kafka's week-long segments",
                        vessel=vessel.name, error=str(exc))  # fmt: skip
    for spec in topics.VESSEL_TOPICS:
        made = create_topic(
            vessel.bootstrap_servers,
            spec.name,
            partitions=spec.partitions,
            replication_factor=vessel.replication_factor,
            config=spec.config,
        )
        compression = spec.compression
        if not made and compression.get("compression.type") != "producer":
            # Made by an earlier release, which left the compression to the producer: the
            # brokers compress what crosses the link from now on (older batches stay as sent).
            try:
                set_topic_config(vessel.bootstrap_servers, spec.name, compression)
            except KafkaException as exc:  # not fatal: the link carries the producer's codec
                log.warning("a vessel topic keeps its producer's compression",
                            vessel=vessel.name, topic=spec.name, error=str(exc))  # fmt: skip
    create_topic(
        shore.bootstrap_servers,
        commands_topic(vessel.name),
        partitions=topics.COMMANDS.partitions,
        replication_factor=shore.replication_factor,
    )


def attach(emulator: LinkEmulator, vessel: KafkaCluster) -> str:
    """Route ``vessel`` through the emulator; the shore's bootstrap for it."""
    routes = [(n.proxy_port, n.link_port) for n in vessel.state.nodes]
    bootstrap = vessel.link_bootstrap_servers
    if bootstrap is None or any(p is None or lp is None for p, lp in routes):
        raise LinkError(
            f"cluster {vessel.name} has no LINK listener",
            hint="vessel clusters are created with link ports by `fleet up`",
        )
    emulator.attach(vessel.name, [(int(p), int(lp)) for p, lp in routes if p and lp])
    return bootstrap


def vessel_link(
    runtime: KafkaRuntime,
    directory: Path,
    emulator: LinkEmulator,
    vessel: KafkaCluster,
    shore: KafkaCluster,
    *,
    downlink_port: int,
    telemetry: bool = False,
    credentials: ClientAuth | None = None,
    downlink_aboard: bool = False,
) -> VesselLink:
    """Everything the supervisor needs to run and watch ``vessel``'s link: its uplink
    connectors' configs and its downlink process (under ``directory``, as are the secrets the
    Connect workers read).

    ``credentials``: the vessel's principal, which its connectors and its downlink present at
    each secured end (the shore cluster, the vessel's link listener); the link's own probe of
    the vessel presents it too.

    ``downlink_aboard``: the downlink reaches the vessel directly, as it does deployed aboard
    (docs/architecture.md), so its group, its Connect state and its listings stay off the
    emulated link; its reads of the shore then do not cross it either, and a cut does not stop
    it. The fleet runs it across the link, where a cut holds commands back; the link bench
    measures both.
    """
    ensure_topics(vessel, shore)
    link_bootstrap = attach(emulator, vessel)
    secured_shore = shore.state.security is not None
    secured_vessel = vessel.state.security is not None
    if (secured_shore or secured_vessel) and credentials is None:
        raise LinkError(
            f"{vessel.name}'s link is secured but the vessel has no credentials",
            hint=f"`fleet security add-vessel {vessel.name}`",
        )
    java = credentials.java() if credentials is not None else {}
    if secured_vessel and credentials is not None:
        clients.use(link_bootstrap, credentials)
    ends = LinkEndpoints(
        vessel.name,
        link_bootstrap,
        shore.bootstrap_servers,
        shore_replication_factor=shore.replication_factor,
        vessel_replication_factor=vessel.replication_factor,
        shore_security=java if secured_shore else {},
        vessel_security=java if secured_vessel else {},
    )
    secret = write_secret(directory / "secrets", vessel.name, java) if java else None
    flows = [with_telemetry(f) if telemetry and f == BULK else f for f in UPLINKS]
    return VesselLink(
        vessel=vessel.name,
        vessel_bootstrap=vessel.bootstrap_servers,
        link_bootstrap=link_bootstrap,
        shore_bootstrap=shore.bootstrap_servers,
        connectors=uplink_configs(ends, flows, secret),
        downlink=MirrorProcess(
            runtime,
            directory / vessel.name / DOWNLINK.name,
            replace(ends, vessel_bootstrap=vessel.bootstrap_servers) if downlink_aboard else ends,
            DOWNLINK,
            rest_port=downlink_port,
        ),
    )
