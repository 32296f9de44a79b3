"""Strimzi 1.2.0 custom resources (``kafka.strimzi.io/v1``, Kafka 4.3.1): the clusters, topics,
users with their ACLs, and the Connect cluster with the vessels' MirrorMaker 2 connectors."""

from __future__ import annotations

import re
from typing import Any

from confluent_kafka.admin import AclOperation, ResourceType

from fleetedge.deploy.exceptions import DeployError
from fleetedge.runtime.jars import KAFKA_VERSION
from fleetedge.security.acls import Grant

API = "kafka.strimzi.io/v1"
METADATA_VERSION = "4.3-IV0"
PLAIN_PORT = 9092
TLS_PORT = 9093
LINK_PORT = 9094
Manifest = dict[str, Any]
SCRAM = {"type": "scram-sha-512"}
# The shore's listeners, every client on TLS with SCRAM-SHA-512: its own services inside the
# cluster, and the ships' downlinks (commands) from outside it.
SHORE_LISTENERS = [
    {"name": "tls", "port": TLS_PORT, "type": "internal", "tls": True, "authentication": SCRAM},
    {
        "name": "link",
        "port": LINK_PORT,
        "type": "loadbalancer",
        "tls": True,
        "authentication": SCRAM,
    },
]
# A vessel's: its own services in plaintext inside the vessel's cluster (as aboard, on
# loopback), and the link listener the shore's connectors reach, TLS with SCRAM-SHA-512.
VESSEL_LISTENERS = [
    {"name": "plain", "port": PLAIN_PORT, "type": "internal", "tls": False},
    {
        "name": "link",
        "port": LINK_PORT,
        "type": "loadbalancer",
        "tls": True,
        "authentication": SCRAM,
    },
]

# Kafka's ACL names as Strimzi spells them.
OPERATIONS = {
    AclOperation.READ: "Read",
    AclOperation.WRITE: "Write",
    AclOperation.CREATE: "Create",
    AclOperation.DELETE: "Delete",
    AclOperation.ALTER: "Alter",
    AclOperation.DESCRIBE: "Describe",
    AclOperation.ALTER_CONFIGS: "AlterConfigs",
    AclOperation.DESCRIBE_CONFIGS: "DescribeConfigs",
    AclOperation.IDEMPOTENT_WRITE: "IdempotentWrite",
    AclOperation.ALL: "All",
}
RESOURCES = {
    ResourceType.TOPIC: "topic",
    ResourceType.GROUP: "group",
    ResourceType.TRANSACTIONAL_ID: "transactionalId",
    ResourceType.BROKER: "cluster",
}
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def k8s_name(name: str, what: str) -> str:
    """``name`` if Kubernetes takes it as an object's name (DNS-1123 subdomain), else an error."""
    if not _DNS_1123.fullmatch(name):
        raise DeployError(
            f"{what} {name!r} cannot name a Kubernetes object (lower-case letters, digits, "
            "'-' and '.' only)",
            hint="vessel ids with '_' run on hosts (systemd), not as Strimzi users",
        )
    return name


def topic_object_name(topic: str) -> str:
    """A KafkaTopic's object name for ``topic`` (its ``topicName`` keeps the real one)."""
    return re.sub(r"[^a-z0-9.-]+", "-", topic.lower()).strip("-.")


def _meta(name: str, cluster: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if cluster is not None:
        meta["labels"] = {"strimzi.io/cluster": cluster}
    return meta


def kafka(
    name: str,
    *,
    replicas: int,
    listeners: list[dict[str, Any]],
    authorization: bool,
    storage_gi: int,
) -> list[Manifest]:
    """A KRaft cluster of ``replicas`` dual-role nodes and their pool; ACLs when
    ``authorization`` (nobody without one), else authentication only."""
    rf = min(3, replicas)
    spec: dict[str, Any] = {
        "version": KAFKA_VERSION,
        "metadataVersion": METADATA_VERSION,
        "listeners": [dict(listener) for listener in listeners],
        "config": {
            "default.replication.factor": rf,
            "min.insync.replicas": min(2, rf),
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": min(2, rf),
            # Nobody reads or writes without an ACL (see docs/security.md).
            "allow.everyone.if.no.acl.found": False,
        },
    }
    if authorization:
        spec["authorization"] = {"type": "simple"}
    else:
        del spec["config"]["allow.everyone.if.no.acl.found"]
    pool = {
        "apiVersion": API,
        "kind": "KafkaNodePool",
        "metadata": _meta(f"{name}-nodes", name),
        "spec": {
            "replicas": replicas,
            "roles": ["controller", "broker"],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {
                        "id": 0,
                        "type": "persistent-claim",
                        "size": f"{storage_gi}Gi",
                        "kraftMetadata": "shared",
                        "deleteClaim": False,
                    }
                ],
            },
        },
    }
    cluster = {
        "apiVersion": API,
        "kind": "Kafka",
        "metadata": _meta(name),
        "spec": {"kafka": spec, "entityOperator": {"topicOperator": {}, "userOperator": {}}},
    }
    return [cluster, pool]


def bootstrap(cluster: str, port: int = TLS_PORT) -> str:
    """The in-cluster bootstrap address of a Strimzi cluster's listener on ``port``."""
    return f"{cluster}-kafka-bootstrap:{port}"


def ca_secret(cluster: str) -> str:
    """The Secret holding the CA that signed ``cluster``'s brokers (key ``ca.crt``)."""
    return f"{cluster}-cluster-ca-cert"


def topic(
    cluster: str, name: str, partitions: int, replicas: int, config: dict[str, str]
) -> Manifest:
    return {
        "apiVersion": API,
        "kind": "KafkaTopic",
        "metadata": _meta(topic_object_name(name), cluster),
        "spec": {
            "topicName": name,
            "partitions": partitions,
            "replicas": replicas,
            "config": dict(config),
        },
    }


def user(
    cluster: str, principal: str, grants: list[Grant] | None, *, password_secret: str | None = None
) -> Manifest:
    """A SCRAM-SHA-512 user; with ``grants``, its ACLs (none: authentication only).
    ``password_secret``: take the password from that Secret's ``password`` key (a vessel's
    principal has one password at both ends of its link), else the operator makes one."""
    auth: dict[str, Any] = {"type": "scram-sha-512"}
    if password_secret is not None:
        auth["password"] = {
            "valueFrom": {"secretKeyRef": {"name": password_secret, "key": "password"}}
        }
    spec: dict[str, Any] = {"authentication": auth}
    if grants is not None:
        spec["authorization"] = {"type": "simple", "acls": acl_rules(grants)}
    return {
        "apiVersion": API,
        "kind": "KafkaUser",
        "metadata": _meta(k8s_name(principal, "principal"), cluster),
        "spec": spec,
    }


def acl_rules(grants: list[Grant]) -> list[dict[str, Any]]:
    """``grants`` as Strimzi ACL rules, one per resource pattern."""
    rules = []
    for grant in grants:
        resource: dict[str, Any] = {"type": RESOURCES[grant.resource]}
        if grant.resource != ResourceType.BROKER:
            resource["name"] = grant.name
            resource["patternType"] = "prefix" if grant.prefixed else "literal"
        rules.append(
            {
                "resource": resource,
                "operations": [OPERATIONS[op] for op in grant.operations],
                "host": "*",
                "type": "allow",
            }
        )
    return rules
