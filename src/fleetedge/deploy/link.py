"""The link on Kubernetes: the shore's Kafka Connect cluster (Strimzi ``KafkaConnect``) and
each vessel's MirrorMaker 2 uplinks as ``KafkaConnector`` s, with the configs the local fleet
gives its connectors (:func:`fleetedge.link.connectors.uplink_configs`).

Secrets stay in Secrets: a connector names the vessel principal's JAAS line and the CAs as
``${secrets:<namespace>/<secret>:<key>}``, which Strimzi's ``KubernetesSecretConfigProvider``
reads, so neither the connector resource nor Connect's REST API holds a password.
"""

from __future__ import annotations

from typing import Any

from fleetedge.deploy.strimzi import API, Manifest, bootstrap, ca_secret, k8s_name
from fleetedge.link.connect import (
    BYTES,
    CONFIGS_TOPIC,
    GROUP_ID,
    OFFSETS_TOPIC,
    STATUS_TOPIC,
)
from fleetedge.link.connectors import uplink_configs
from fleetedge.link.mirror import LinkEndpoints
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
