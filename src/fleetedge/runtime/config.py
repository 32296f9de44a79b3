"""The configuration files of a KRaft node (combined broker and controller)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from fleetedge.runtime.ports import HOST, NodePorts
from fleetedge.runtime.state import ClusterSecurity

SCRAM = "SCRAM-SHA-512"
BROKER_USER = "broker"
ADMIN_USER = "admin"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"

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
    # The active controller writes a no-op record this often (default 500 ms), and every node
    # fetches it: an idle broker's CPU fell from 1.7 % to 1.3 % of a core at 5 s.
    "metadata.max.idle.interval.ms": "5000",
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


def read_secret(path: Path) -> str:
    """The ``password`` of a 0600 JSON file of the security store."""
    return str(json.loads(path.read_text())["password"])


def _tls(security: ClusterSecurity) -> dict[str, str]:
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(security.server_pem),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(security.ca_file),
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "ssl.client.auth": "none",
    }


def secured_shore(own: NodePorts, security: ClusterSecurity) -> dict[str, str]:
    """Every listener authenticated: clients (and brokers among themselves) on SASL_SSL with
    SCRAM-SHA-512, controllers on SASL_PLAINTEXT with PLAIN (KRaft controllers cannot use
    SCRAM, whose credentials live in the metadata they serve); ACLs by StandardAuthorizer."""
    if security.broker_secret_file is None:
        raise ValueError("a secured shore needs its brokers' secret")
    secret = read_secret(security.broker_secret_file)
    client = f"CLIENT://{HOST}:{own.broker}"
    return {
        "listeners": f"{client},CONTROLLER://{HOST}:{own.controller}",
        "advertised.listeners": client,
        "inter.broker.listener.name": "CLIENT",
        "listener.security.protocol.map": "CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": SCRAM,
        "sasl.mechanism.inter.broker.protocol": SCRAM,
        "listener.name.client.sasl.enabled.mechanisms": SCRAM,
        "listener.name.client.scram-sha-512.sasl.jaas.config": (
            f'{SCRAM_MODULE} required username="{BROKER_USER}" password="{secret}";'
        ),
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{PLAIN_MODULE} required username="{BROKER_USER}" password="{secret}" '
            f'user_{BROKER_USER}="{secret}";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{BROKER_USER};User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found": "false",
        # A revoked principal's open connections must not outlive its credentials for long.
        "connections.max.reauth.ms": "60000",
        **_tls(security),
    }


def secured_link(security: ClusterSecurity) -> dict[str, str]:
    """The vessel's LINK listener on SASL_SSL (SCRAM-SHA-512); the rest stays plaintext."""
    return {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,LINK:SASL_SSL",
        "listener.name.link.sasl.enabled.mechanisms": SCRAM,
        "listener.name.link.scram-sha-512.sasl.jaas.config": f"{SCRAM_MODULE} required;",
        "connections.max.reauth.ms": "60000",
        **_tls(security),
    }


def node_properties(
    node_id: int,
    ports: Sequence[NodePorts],
    data_dir: Path,
    overrides: Mapping[str, str] | None = None,
    security: ClusterSecurity | None = None,
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
    if security is not None and security.scope == "cluster":
        props |= secured_shore(own, security)
    elif security is not None and "LINK" in listeners:
        props |= secured_link(security)
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
