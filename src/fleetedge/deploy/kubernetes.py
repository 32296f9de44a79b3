"""A role's file rendered for Kubernetes with Strimzi: the role's Kafka as Strimzi resources
(cluster, topics, users with the ACLs ``fleet security`` grants), the shore's Connect cluster
with every vessel's uplink connectors, and our services as Deployments of the one image.

Each pod runs ``fleet vessel run`` or ``fleet shore run`` on a file rendered for it (a
ConfigMap), reaching its Kafka in-cluster as its own principal, with the password and the CA
mounted from the Secrets Strimzi's operators make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fleetedge.deploy import link, strimzi, toml
from fleetedge.deploy.exceptions import DeployError
from fleetedge.deploy.strimzi import Manifest
from fleetedge.events import topics
from fleetedge.link.mirror import commands_topic
from fleetedge.roles.config import SHORE_KINDS, ShoreConfig, ShoreKind, ShoreVessel, VesselConfig
from fleetedge.roles.vessel import VESSEL_SERVICES
from fleetedge.security import acls
from fleetedge.shore.provision import AnalyticsConfig, shore_topics

SHORE = "shore"
CONFIG_DIR = "/etc/fleetedge"
STATE_DIR = "/var/lib/fleetedge"
CA_FILE = f"{CONFIG_DIR}/ca/ca.crt"
PASSWORD_FILE = f"{CONFIG_DIR}/login/password"
METRICS_PORT = 9404
# A pod's services serve /metrics on every address of the pod, for a scraper outside it.
POD_ADDRESSES = "0.0.0.0"  # noqa: S104 - the pod's own network
API_PORT = 8443
# The API's certificate (a kubernetes.io/tls Secret, from cert-manager or made by hand) and
# its token book (hashes only: `fleet api token add NAME --file api-tokens.json`).
API_TLS_SECRET = "fleetedge-api-tls"  # noqa: S105 - a Secret's name
API_TOKENS_SECRET = "fleetedge-api-tokens"  # noqa: S105 - a Secret's name
API_TLS_DIR = f"{CONFIG_DIR}/tls"
API_TOKENS_DIR = f"{CONFIG_DIR}/tokens"
PRINCIPALS: dict[ShoreKind, str] = {
    "normalizer": acls.NORMALIZER,
    "analytics": acls.ANALYTICS,
    "projector": acls.PROJECTOR,
    "backfill": acls.BACKFILL,
    "api": acls.API,
    "link": acls.LINK,
}
VESSELS_DIR = f"{CONFIG_DIR}/vessels"


def render_shore(
    config: ShoreConfig, *, namespace: str, image: str, nodes: int = 3, storage_gi: int = 100
) -> dict[str, list[Manifest]]:
    """The shore's files: name → its objects."""
    if config.database.startswith("sqlite:"):
        raise DeployError(
            "database: a sqlite file cannot be shared by the projector's and the API's pods",
            hint="give a postgresql:// URL",
        )
    rf = min(3, nodes)
    vessels = config.vessels
    wanted = shore_topics(AnalyticsConfig(strimzi.bootstrap(SHORE), Path(), replication_factor=rf))
    kafka_topics = [
        strimzi.topic(SHORE, name, partitions, rf, settings)
        for name, (partitions, settings) in wanted.items()
    ] + [
        strimzi.topic(SHORE, commands_topic(v.id), topics.COMMANDS.partitions, rf, {})
        for v in vessels
    ]
    readers = {p: [g for v in vessels for g in acls.vessel_reader_grants(v.id)]
               for p in acls.VESSEL_READERS}  # fmt: skip
    users = [
        strimzi.user(SHORE, p, [*acls.service_grants(p), *readers.get(p, [])])
        for p in acls.SERVICES
    ] + [
        strimzi.user(SHORE, v.id, acls.vessel_grants(v.id), password_secret=_link_secret(v.id))
        for v in vessels
    ]
    connectors = [
        c
        for v in vessels
        for c in link.connectors(SHORE, v, namespace=namespace, replication_factor=rf)
    ]
    secrets = [strimzi.ca_secret(SHORE), *(v.id for v in vessels),
               *(strimzi.ca_secret(v.id) for v in vessels)]  # fmt: skip
    services: list[Manifest] = []
    for kind in SHORE_KINDS:
        replicas = config.analytics.workers if kind == "analytics" else 1
        pod = _role_pod(
            f"fleetedge-{kind}", "shore", _shore_file(config, kind), image=image,
            principal=PRINCIPALS[kind], cluster=SHORE, replicas=replicas,
        )  # fmt: skip
        if kind == "link":
            _mount_vessel_logins(pod[1], vessels)
        services += pod
    return {
        "shore-kafka.yaml": strimzi.kafka(
            SHORE,
            replicas=nodes,
            listeners=strimzi.SHORE_LISTENERS,
            authorization=True,
            storage_gi=storage_gi,
        ),
        "shore-topics.yaml": kafka_topics,
        "shore-users.yaml": users,
        "shore-link.yaml": [
            link.connect_cluster(SHORE, workers=config.connect.workers),
            *link.secret_reader(namespace, secrets),
            *connectors,
        ],
        "shore-services.yaml": services,
    }


def render_vessel(
    config: VesselConfig, *, image: str, nodes: int = 3, storage_gi: int = 50
) -> dict[str, list[Manifest]]:
    """A vessel's files (for its own small cluster, k3s say): name → its objects."""
    name = strimzi.k8s_name(config.vessel, "vessel id")
    rf = min(3, nodes)
    kafka_topics = [
        strimzi.topic(name, spec.name, spec.partitions, rf, spec.config)
        for spec in topics.VESSEL_TOPICS
    ]
    # The link's principal: the shore's connectors and downlink sign in as the vessel, with
    # the password its KafkaUser ashore has too (one Secret, copied to both).
    link_user = strimzi.user(name, name, None, password_secret=_link_secret(name))
    file = _vessel_file(config, name)
    return {
        f"{name}-kafka.yaml": strimzi.kafka(
            name,
            replicas=nodes,
            listeners=strimzi.VESSEL_LISTENERS,
            authorization=False,
            storage_gi=storage_gi,
        ),
        f"{name}-topics.yaml": kafka_topics,
        f"{name}-users.yaml": [link_user],
        **(
            {
                f"{name}-downlink.yaml": [
                    link.downlink(config.vessel, shore_bootstrap=config.link.shore_bootstrap)
                ]
            }
            if config.link is not None
            else {}
        ),
        f"{name}-services.yaml": _role_pod(
            f"fleetedge-{name}",
            "vessel",
            file,
            image=image,
            principal=None,
            cluster=name,
            replicas=1,
        ),
    }


def _link_secret(vessel: str) -> str:
    return f"{vessel}-link-password"


def _shore_file(config: ShoreConfig, kind: ShoreKind) -> dict[str, Any]:
    """``shore.toml`` for one kind's pod: in-cluster Kafka as its own principal."""
    return {
        "database": config.database,
        "state_dir": STATE_DIR,
        "metrics_port": METRICS_PORT,
        "metrics_host": POD_ADDRESSES,
        "run": [kind],
        "create_topics": False,  # Strimzi's Topic Operator makes them
        "kafka": {
            "bootstrap": strimzi.bootstrap(SHORE),
            "ca_file": CA_FILE,
            "username": PRINCIPALS[kind],
            "password_file": PASSWORD_FILE,
        },
        "api": _api_settings() if kind == "api" else {"port": API_PORT},
        "analytics": {"workers": 1, "commit_interval": config.analytics.commit_interval},
        "backfill": config.backfill.model_dump(),
        **(_link_settings(config) if kind == "link" else {}),
    }


def _link_settings(config: ShoreConfig) -> dict[str, Any]:
    """The link's pod watches the KafkaConnect cluster's REST Service; the KafkaConnector
    resources own the connectors. It reaches each vessel as the vessel's principal, with the
    password and the vessel's CA mounted from their Secrets (:func:`_mount_vessel_logins`)."""
    return {
        "connect": {
            "urls": [f"http://{link.CONNECT_NAME}-connect-api:8083"],
            "manage_connectors": False,
        },
        "vessels": [
            {
                "id": v.id,
                "link_bootstrap": v.link_bootstrap,
                "username": v.id,
                "password_file": f"{VESSELS_DIR}/{v.id}/login/password",
                "link_ca_file": f"{VESSELS_DIR}/{v.id}/ca/ca.crt",
            }
            for v in config.vessels
        ],
    }


def _mount_vessel_logins(deployment: Manifest, vessels: list[ShoreVessel]) -> None:
    """Mount each vessel's password (the Secret its KafkaUsers share) and CA in the link's
    pod, where its file (:func:`_link_settings`) names them."""
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    for v in vessels:
        name = strimzi.k8s_name(v.id, "vessel id")
        for part, secret in (("login", _link_secret(name)), ("ca", strimzi.ca_secret(name))):
            spec["volumes"].append({"name": f"{name}-{part}", "secret": {"secretName": secret}})
            container["volumeMounts"].append(
                {"name": f"{name}-{part}", "mountPath": f"{VESSELS_DIR}/{v.id}/{part}",
                 "readOnly": True}
            )  # fmt: skip


def _api_settings() -> dict[str, Any]:
    """The API in its pod: on every address (its Service reaches it), so TLS and tokens on
    every read."""
    return {
        "host": "0.0.0.0",  # noqa: S104 - the pod's network; the Service is the way in
        "port": API_PORT,
        "reads": "token",
        "tls_cert": f"{API_TLS_DIR}/tls.crt",
        "tls_key": f"{API_TLS_DIR}/tls.key",
        "tokens_file": f"{API_TOKENS_DIR}/api-tokens.json",
    }


def _api_pod(deployment: Manifest, labels: dict[str, str]) -> Manifest:
    """Add to the API's Deployment its certificate and tokens, its port and probes; return
    the Service in front of it."""
    spec = deployment["spec"]["template"]["spec"]
    spec["volumes"] += [
        {"name": "tls", "secret": {"secretName": API_TLS_SECRET}},
        {"name": "tokens", "secret": {"secretName": API_TOKENS_SECRET}},
    ]
    container = spec["containers"][0]
    container["volumeMounts"] += [
        {"name": "tls", "mountPath": API_TLS_DIR, "readOnly": True},
        {"name": "tokens", "mountPath": API_TOKENS_DIR, "readOnly": True},
    ]
    container["ports"] = [{"name": "https", "containerPort": API_PORT}]
    # /livez answers without a token: a probe carries none.
    probe = {"httpGet": {"path": "/livez", "port": "https", "scheme": "HTTPS"}}
    container["readinessProbe"] = {**probe, "periodSeconds": 10}
    container["livenessProbe"] = {**probe, "periodSeconds": 20, "failureThreshold": 6}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": deployment["metadata"]["name"], "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
        },
    }


def _vessel_file(config: VesselConfig, name: str) -> dict[str, Any]:
    """``vessel.toml`` for the vessel's pod: its cluster's in-cluster plaintext listener."""
    reefers = config.reefers.model_dump(mode="json", exclude_none=True)
    if "manifest" in reefers:
        reefers["manifest"] = f"{CONFIG_DIR}/reefers.txt"
    return {
        "vessel": config.vessel,
        "state_dir": STATE_DIR,
        "metrics_port": METRICS_PORT,
        "metrics_host": POD_ADDRESSES,
        "kafka": {"bootstrap": strimzi.bootstrap(name, strimzi.PLAIN_PORT)},
        "reefers": reefers,
        "edge": config.edge.model_dump(),
    }


def _role_pod(
    name: str,
    role: str,
    file: dict[str, Any],
    *,
    image: str,
    principal: str | None,
    cluster: str,
    replicas: int,
) -> list[Manifest]:
    """A ConfigMap with the role's file and a Deployment running the role on it."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "fleetedge"}
    config_file = f"{role}.toml"
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": name}},
        {"name": "state", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": f"{CONFIG_DIR}/{config_file}", "subPath": config_file},
        {"name": "state", "mountPath": STATE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own, an emptyDir
    ]
    if principal is not None:
        volumes += [
            {"name": "ca", "secret": {"secretName": strimzi.ca_secret(cluster)}},
            {"name": "login", "secret": {"secretName": principal}},
        ]
        mounts += [
            {"name": "ca", "mountPath": f"{CONFIG_DIR}/ca", "readOnly": True},
            {"name": "login", "mountPath": f"{CONFIG_DIR}/login", "readOnly": True},
        ]
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {config_file: toml.dumps(file)},
    }
    # One metrics port per service the pod runs (the API serves /metrics on its own port).
    served = VESSEL_SERVICES if role == "vessel" else 0 if file.get("run") == ["api"] else 1
    container = {
        "name": role,
        "image": image,
        "args": [role, "run", "--config", f"{CONFIG_DIR}/{config_file}"],
        "ports": [
            {"name": f"metrics-{i}", "containerPort": METRICS_PORT + i} for i in range(served)
        ],
        "env": [
            {"name": "FLEET_HOME", "value": STATE_DIR},
            {"name": "MPLCONFIGDIR", "value": f"{STATE_DIR}/matplotlib"},
        ],
        "volumeMounts": mounts,
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            # One pod of a kind at a time while rolling: its consumer group hands partitions
            # over from the old to the new (exactly-once, nothing read twice).
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 90,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
    if file.get("run") == ["api"]:
        return [config_map, deployment, _api_pod(deployment, labels)]
    return [config_map, deployment]
