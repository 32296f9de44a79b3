"""The link on Kubernetes: the shore's Kafka Connect cluster (Strimzi ``KafkaConnect``) and
each vessel's MirrorMaker 2 uplinks as ``KafkaConnector`` s, with the configs the local fleet
gives its connectors (:func:`fleetedge.link.connectors.uplink_configs`).

Secrets stay in Secrets: a connector names the vessel principal's JAAS line and the CAs as
``${secrets:<namespace>/<secret>:<key>}``, which Strimzi's ``KubernetesSecretConfigProvider``
reads, so neither the connector resource nor Connect's REST API holds a password.
"""

from __future__ import annotations

import re
from typing import Any

from fleetedge.deploy.strimzi import API, PLAIN_PORT, Manifest, bootstrap, ca_secret, k8s_name
from fleetedge.link.connect import (
    BYTES,
    CONFIGS_TOPIC,
    GROUP_ID,
    OFFSETS_TOPIC,
    STATUS_TOPIC,
)
from fleetedge.link.connectors import SHORE_ALIAS, uplink_configs
from fleetedge.link.mirror import DOWNLINK, LinkEndpoints, commands_topic, downlink_topic
from fleetedge.roles.config import ShoreVessel
from fleetedge.runtime.jars import KAFKA_VERSION
from fleetedge.security.acls import CONNECT

CONNECT_NAME = GROUP_ID
PROVIDER = "io.strimzi.kafka.KubernetesSecretConfigProvider"


def connect_cluster(shore: str, *, workers: int) -> Manifest:
    """The Connect workers, as ``svc-connect``; connectors are managed as resources."""
    rf = -1  # the broker's default.replication.factor
    return {
        "apiVersion": API,
        "kind": "KafkaConnect",
        "metadata": {
            "name": CONNECT_NAME,
            "annotations": {"strimzi.io/use-connector-resources": "true"},
        },
        "spec": {
            "version": KAFKA_VERSION,
            "replicas": workers,
            "bootstrapServers": bootstrap(shore),
            "groupId": GROUP_ID,
            "configStorageTopic": CONFIGS_TOPIC,
            "offsetStorageTopic": OFFSETS_TOPIC,
            "statusStorageTopic": STATUS_TOPIC,
            "tls": {"trustedCertificates": [{"secretName": ca_secret(shore), "pattern": "*.crt"}]},
            "authentication": {
                "type": "scram-sha-512",
                "username": CONNECT,
                "passwordSecret": {"secretName": CONNECT, "password": "password"},
            },
            "config": {
                "config.storage.replication.factor": rf,
                "offset.storage.replication.factor": rf,
                "status.storage.replication.factor": rf,
                "offset.storage.partitions": 10,
                "status.storage.partitions": 5,
                "key.converter": BYTES,
                "value.converter": BYTES,
                "header.converter": BYTES,
                "exactly.once.source.support": "enabled",
                "connector.client.config.override.policy": "All",
                "config.providers": "secrets",
                "config.providers.secrets.class": PROVIDER,
                "offset.flush.interval.ms": 5000,
            },
        },
    }


def _security(namespace: str, principal: str, ca: str) -> dict[str, str]:
    """A Java client's SASL_SSL settings as the vessel's principal, trusting ``ca``'s CA."""
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        # The KafkaUser's Secret carries the JAAS line with the password.
        "sasl.jaas.config": f"${{secrets:{namespace}/{principal}:sasl.jaas.config}}",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.certificates": f"${{secrets:{namespace}/{ca}:ca.crt}}",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "ssl.endpoint.identification.algorithm": "https",
    }


def connectors(
    shore: str, vessel: ShoreVessel, *, namespace: str, replication_factor: int
) -> list[Manifest]:
    """The vessel's uplink connectors, each as its own principal at both ends."""
    name = k8s_name(vessel.id, "vessel id")
    ends = LinkEndpoints(
        vessel=vessel.id,
        vessel_bootstrap=vessel.link_bootstrap,
        shore_bootstrap=bootstrap(shore),
        shore_replication_factor=replication_factor,
        shore_security=_security(namespace, name, ca_secret(shore)),
        # The vessel's cluster CA, copied ashore as <vessel>-cluster-ca-cert (docs/deploy.md).
        vessel_security=_security(namespace, name, ca_secret(name)),
    )
    manifests = []
    for connector, config in uplink_configs(ends).items():
        spec: dict[str, Any] = {
            "class": config.pop("connector.class"),
            "tasksMax": int(config.pop("tasks.max")),
            "config": config,
        }
        manifests.append(
            {
                "apiVersion": API,
                "kind": "KafkaConnector",
                "metadata": {
                    "name": k8s_name(connector, "connector"),
                    "labels": {"strimzi.io/cluster": CONNECT_NAME},
                },
                "spec": spec,
            }
        )
    return manifests


def secret_reader(namespace: str, secrets: list[str]) -> list[Manifest]:
    """Let the Connect workers' service account read the Secrets connectors name."""
    account = f"{CONNECT_NAME}-connect"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": f"{CONNECT_NAME}-secrets", "namespace": namespace},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": sorted(set(secrets)),
                "verbs": ["get"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{CONNECT_NAME}-secrets", "namespace": namespace},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        "roleRef": {
            "kind": "Role",
            "name": f"{CONNECT_NAME}-secrets",
            "apiGroup": "rbac.authorization.k8s.io",
        },
    }
    return [role, binding]


def downlink(vessel: str, *, shore_bootstrap: str) -> Manifest:
    """Commands to the ship: a ``KafkaMirrorMaker2`` on the ship's cluster, Kafka's "consume
    from remote, produce to local". Its Connect group and internal topics stay aboard, as the
    local downlink's do; it reads the shore's ``fleet.commands.<vessel>`` as the vessel's
    principal (the password its KafkaUsers share, the shore's CA copied aboard).

    Strimzi's v1 ``KafkaMirrorMaker2`` has no heartbeat connector: no heartbeats come back, and
    the shore's link judges this vessel by its answer and backlog (``manage_connectors`` off).
    """
    name = k8s_name(vessel, "vessel id")
    rf = -1  # the broker's default.replication.factor
    return {
        "apiVersion": API,
        "kind": "KafkaMirrorMaker2",
        "metadata": {"name": f"{name}-downlink"},
        "spec": {
            "version": KAFKA_VERSION,
            "replicas": 1,
            "target": {
                "alias": vessel,
                "bootstrapServers": bootstrap(name, PLAIN_PORT),
                "groupId": f"{vessel}-mm2-downlink",
                "configStorageTopic": downlink_topic("configs"),
                "offsetStorageTopic": downlink_topic("offsets"),
                "statusStorageTopic": downlink_topic("status"),
                "config": {
                    "config.storage.replication.factor": rf,
                    "offset.storage.replication.factor": rf,
                    "status.storage.replication.factor": rf,
                    # One worker, one task: one partition each (as the local downlink's).
                    "offset.storage.partitions": 1,
                    "status.storage.partitions": 1,
                },
            },
            "mirrors": [
                {
                    "source": {
                        "alias": SHORE_ALIAS,
                        "bootstrapServers": shore_bootstrap,
                        "tls": {
                            "trustedCertificates": [
                                {"secretName": ca_secret(SHORE_ALIAS), "pattern": "*.crt"}
                            ]
                        },
                        "authentication": {
                            "type": "scram-sha-512",
                            "username": vessel,
                            "passwordSecret": {
                                "secretName": f"{name}-link-password",
                                "password": "password",
                            },
                        },
                    },
                    "topicsPattern": re.escape(commands_topic(vessel)),
                    "sourceConnector": {
                        "tasksMax": 1,
                        "config": {
                            "replication.factor": rf,
                            "refresh.topics.interval.seconds": DOWNLINK.refresh_topics_s,
                            "sync.topic.acls.enabled": "false",
                            "sync.topic.configs.enabled": "false",
                            "emit.offset-syncs.enabled": "false",
                            "source.consumer.isolation.level": "read_committed",
                        },
                    },
                }
            ],
        },
    }
