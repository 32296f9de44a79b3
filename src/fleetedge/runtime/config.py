"""The configuration files of a KRaft node (combined broker and controller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from fleetedge.runtime.ports import HOST, NodePorts

# Cluster-wide defaults: RF=3 with min.insync.replicas=2 survives one broker loss with nothing
# acknowledged lost; topics are created on purpose, never by a typo. Thread pools are small
# because a 2-core machine runs up to ten of these JVMs.
CLUSTER_DEFAULTS: Mapping[str, str] = {
    "auto.create.topics.enable": "false",
    "num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "num.replica.fetchers": "1",
    "background.threads": "2",
    "log.cleaner.threads": "1",
    "log.cleaner.dedupe.buffer.size": "16777216",
    "offsets.topic.num.partitions": "6",
    "transaction.state.log.num.partitions": "6",
    # Elections must not flap when ten JVMs share two cores and one is in a GC pause.
    "controller.quorum.fetch.timeout.ms": "4000",
    "controller.quorum.election.timeout.ms": "2000",
    "broker.session.timeout.ms": "9000",
    "broker.heartbeat.interval.ms": "2000",
    "log.retention.hours": "720",
    "log.segment.bytes": "67108864",
}


def replication_defaults(nodes: int) -> dict[str, str]:
    """Replication settings: RF 3 and min ISR 2, clipped for clusters of fewer nodes."""
    rf = min(3, nodes)
    min_isr = min(2, rf)
    return {
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(min_isr),
    }


def node_properties(
    node_id: int,
    ports: Sequence[NodePorts],
    data_dir: Path,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Properties of node ``node_id`` (1-based) in a cluster whose nodes listen on ``ports``."""
    own = ports[node_id - 1]
    voters = ",".join(f"{i}@{HOST}:{p.controller}" for i, p in enumerate(ports, start=1))
    listeners = f"PLAINTEXT://{HOST}:{own.broker},CONTROLLER://{HOST}:{own.controller}"
    advertised = listeners
    protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if own.link is not None and own.proxy is not None:
        # The shore's clients connect through the link emulator, so Kafka must send them the
        # emulator's address in metadata, or they would bypass the link after bootstrapping.
        listeners += f",LINK://{HOST}:{own.link}"
        advertised += f",LINK://{HOST}:{own.proxy}"
        protocols += ",LINK:PLAINTEXT"
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": listeners,
        "advertised.listeners": advertised,
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": protocols,
        "log.dirs": str(data_dir),
        **CLUSTER_DEFAULTS,
        **replication_defaults(len(ports)),
    }
    if overrides:
        props.update(overrides)
    return props


def render_properties(props: Mapping[str, str]) -> str:
    """A Java properties file body (values here never need escaping beyond ``\\``)."""
    return "".join(f"{key}={value.replace(chr(92), chr(92) * 2)}\n" for key, value in props.items())


def log4j2_text() -> str:
    """The log4j2 configuration every Kafka JVM of FleetEdge uses."""
    return (
        resources.files("fleetedge.runtime")
        .joinpath("log4j2.properties")
        .read_text(encoding="utf-8")
    )
