"""`fleet deploy render`: the files parse, validate against Kubernetes' and Strimzi 1.2.0's
published schemas, and run commands and principals that exist. What a schema cannot see
(names, cross-references, Strimzi's forbidden Connect keys) is asserted here by hand."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from fleetedge.cli import app
from fleetedge.deploy import DeployError, render
from fleetedge.deploy import systemd as units
from fleetedge.deploy.strimzi import topic_object_name
from fleetedge.events import topics
from fleetedge.roles import ShoreConfig, VesselConfig, load_config
from fleetedge.security import acls
from tests.support.role_files import example_roles

CRDS = Path(__file__).parents[1] / "data" / "strimzi-1.2.0-crds"
KUBERNETES = "1.33"  # what k3s and Strimzi 1.2.0 (>= 1.30) run
DNS_1123 = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
# Strimzi manages these in a KafkaConnect's config itself (its CRD's description).
FORBIDDEN_CONNECT = ("ssl.", "sasl.", "security.", "listeners", "plugin.path", "rest.",
                     "bootstrap.servers", "consumer.interceptor.classes",
                     "producer.interceptor.classes")  # fmt: skip
VESSELS = ["mv-anna", "mv-bert"]


def _strict(schema: Any) -> Any:
    """Unknown fields rejected, as kubectl's strict field validation does (not inside
    oneOf/anyOf alternatives, which only list the properties each one requires)."""
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            schema["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict(schema[key])
    return schema


@pytest.fixture(scope="module")
def crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                schema = _strict(version["schema"]["openAPIV3Schema"])
                found[key] = jsonschema.Draft7Validator(schema)
    return found


def _roles(tmp_path: Path) -> tuple[list[tuple[Path, VesselConfig]], tuple[Path, ShoreConfig]]:
    example_roles(tmp_path)
    shore_file = tmp_path / "shore.toml"
    text = shore_file.read_text().replace(
        "sqlite:///state/shore/fleet.db", "postgresql://fleet@db/fleet"
    )
    # The example's one vessel, replaced by VESSELS.
    text = text[: text.index("[[vessels]]")] + text[text.index("[api]") :]
    text = text.replace("database =", "vessels = [" + ", ".join(
        f'{{ id = "{v}", link_bootstrap = "{v}.ships.example:9094" }}' for v in VESSELS
    ) + "]\ndatabase =")  # fmt: skip
    shore_file.write_text(text)
    vessel = load_config(tmp_path / "vessel.toml", VesselConfig)
    return [(tmp_path / "vessel.toml", vessel)], (shore_file, load_config(shore_file, ShoreConfig))


@pytest.fixture
def rendered(tmp_path: Path) -> list[dict[str, Any]]:
    vessels, shore = _roles(tmp_path)
    written = render("kubernetes", tmp_path / "out", vessels=vessels, shore=shore)
    return [doc for path in written for doc in yaml.safe_load_all(path.read_text())]


def test_every_object_validates_against_its_published_schema(
    rendered: list[dict[str, Any]], crd_validators: dict[Any, jsonschema.Draft7Validator]
) -> None:
    kinds = {doc["kind"] for doc in rendered}
    assert kinds == {
        "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "KafkaConnect", "KafkaConnector",
        "KafkaMirrorMaker2", "ConfigMap", "Deployment", "Role", "RoleBinding", "Service",
    }  # fmt: skip
    for doc in rendered:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["apiVersion"].startswith("kafka.strimzi.io/"):
            validator = crd_validators[(doc["apiVersion"], doc["kind"])]
            errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in validator.iter_errors(doc)]  # fmt: skip
            assert errors == [], name
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        assert doc["metadata"]["name"] == doc["metadata"]["name"].lower(), name
        assert re.match(DNS_1123, doc["metadata"]["name"]), name


def test_the_strict_schemas_catch_what_strimzi_would_refuse(
    rendered: list[dict[str, Any]], crd_validators: dict[Any, jsonschema.Draft7Validator]
) -> None:
    """The checks above can fail: a wrong ACL operation, a removed field, a core typo."""
    user = next(d for d in rendered if d["kind"] == "KafkaUser" and "authorization" in d["spec"])
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Reed"]
    assert list(crd_validators[("kafka.strimzi.io/v1", "KafkaUser")].iter_errors(user))
    cluster = next(d for d in rendered if d["kind"] == "Kafka")
    cluster["spec"]["zookeeper"] = {"replicas": 3}
    assert list(crd_validators[("kafka.strimzi.io/v1", "Kafka")].iter_errors(cluster))
    deployment = next(d for d in rendered if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicie"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_references_between_objects_hold(rendered: list[dict[str, Any]]) -> None:
    kafkas = {d["metadata"]["name"] for d in rendered if d["kind"] == "Kafka"}
    connects = {d["metadata"]["name"] for d in rendered if d["kind"] == "KafkaConnect"}
    assert kafkas == {"shore", "mv-anna"}
    for doc in rendered:
        label = doc["metadata"].get("labels", {}).get("strimzi.io/cluster")
        if doc["kind"] in ("KafkaNodePool", "KafkaTopic", "KafkaUser"):
            assert label in kafkas, doc["metadata"]["name"]
        if doc["kind"] == "KafkaConnector":
            assert label in connects, doc["metadata"]["name"]
    connect = next(d for d in rendered if d["kind"] == "KafkaConnect")
    assert not [k for k in connect["spec"]["config"] if k.startswith(FORBIDDEN_CONNECT)]
    connectors = sorted(d["metadata"]["name"] for d in rendered if d["kind"] == "KafkaConnector")
    assert connectors == [f"{v}.{flow}" for v in VESSELS for flow in ("bulk", "priority")]
    for connector in (d for d in rendered if d["kind"] == "KafkaConnector"):
        config = connector["spec"]["config"]
        secret = [k for k in config if k.endswith(("sasl.jaas.config", "truststore.certificates"))]
        assert len(secret) == 10  # both ends, and the framework's three clients ashore
        assert all(re.fullmatch(r"\$\{secrets:fleetedge/[a-z0-9.-]+:[a-z.]+\}", config[k])
                   for k in secret)  # fmt: skip
    # Every Deployment mounts a ConfigMap of its own name and a Secret the operators make.
    maps = {d["metadata"]["name"] for d in rendered if d["kind"] == "ConfigMap"}
    users = {d["metadata"]["name"] for d in rendered if d["kind"] == "KafkaUser"}
    for deployment in (d for d in rendered if d["kind"] == "Deployment"):
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        assert {v["configMap"]["name"] for v in volumes if "configMap" in v} <= maps
        logins = {v["secret"]["secretName"] for v in volumes if v["name"] == "login"}
        assert logins <= users


def test_the_ships_downlink_reads_its_commands_ashore_as_the_vessel(
    rendered: list[dict[str, Any]],
) -> None:
    """Commands cross in a KafkaMirrorMaker2 on the ship's cluster: it reads the vessel's own
    commands topic at the shore's link listener as the vessel's principal, whose shore ACLs
    allow that read, and writes aboard through the ship's own listener."""
    (mm2,) = [d for d in rendered if d["kind"] == "KafkaMirrorMaker2"]
    spec = mm2["spec"]
    assert spec["target"]["bootstrapServers"] == "mv-anna-kafka-bootstrap:9092"
    (mirror,) = spec["mirrors"]
    assert mirror["source"]["bootstrapServers"] == "shore.link.example:9094"
    assert mirror["source"]["authentication"]["username"] == "mv-anna"
    assert mirror["source"]["authentication"]["passwordSecret"]["secretName"] == (
        "mv-anna-link-password"
    )
    assert re.fullmatch(mirror["topicsPattern"], "fleet.commands.mv-anna")
    assert not re.fullmatch(mirror["topicsPattern"], "fleet.commands.mv-bert")
    shore_user = next(
        d for d in rendered
        if d["kind"] == "KafkaUser" and d["metadata"]["name"] == "mv-anna"
        and "authorization" in d["spec"]
    )  # fmt: skip
    reads = {r["resource"]["name"] for r in shore_user["spec"]["authorization"]["acls"]
             if r["resource"]["type"] == "topic" and "Read" in r["operations"]}  # fmt: skip
    assert "fleet.commands.mv-anna" in reads
    shore = next(d for d in rendered if d["kind"] == "Kafka" and d["metadata"]["name"] == "shore")
    ports = {listener["port"] for listener in shore["spec"]["kafka"]["listeners"]}
    assert 9094 in ports, "the ships reach the shore on its link listener"


def test_the_users_hold_the_acls_fleet_security_grants(rendered: list[dict[str, Any]]) -> None:
    shore_users = {
        d["metadata"]["name"]: d["spec"]
        for d in rendered
        if d["kind"] == "KafkaUser" and d["metadata"]["labels"]["strimzi.io/cluster"] == "shore"
    }
    assert set(shore_users) == {*acls.SERVICES, *VESSELS}
    normalizer = shore_users[acls.NORMALIZER]["authorization"]["acls"]
    reads = {(r["resource"]["name"], r["resource"]["patternType"]) for r in normalizer
             if "Read" in r["operations"]}  # fmt: skip
    assert {(f"{v}.", "prefix") for v in VESSELS} <= reads
    rules = shore_users["mv-anna"]["authorization"]["acls"]
    assert len(rules) == len(acls.vessel_grants("mv-anna"))
    assert shore_users["mv-anna"]["authentication"]["password"]["valueFrom"]["secretKeyRef"] == {
        "name": "mv-anna-link-password", "key": "password"
    }  # fmt: skip
    topic_names = {d["spec"]["topicName"] for d in rendered if d["kind"] == "KafkaTopic"}
    assert {s.name for s in topics.VESSEL_TOPICS} <= topic_names
    assert {f"fleet.commands.{v}" for v in VESSELS} <= topic_names
    assert topic_object_name("changelog__fleet-analytics--x") == "changelog-fleet-analytics--x"


def test_the_pods_run_commands_that_exist_on_files_that_validate(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    root: Any = typer.main.get_command(app)  # a group of groups (typer's own click)
    mounted = tmp_path / "pod"
    mounted_files = (
        "etc/fleetedge/ca/ca.crt", "etc/fleetedge/login/password",
        "etc/fleetedge/tls/tls.crt", "etc/fleetedge/tls/tls.key",
        *(f"etc/fleetedge/vessels/{v}/{f}" for v in VESSELS
          for f in ("login/password", "ca/ca.crt")),
    )  # fmt: skip
    for relative in mounted_files:
        (mounted / relative).parent.mkdir(parents=True, exist_ok=True)
        (mounted / relative).write_text("x\n")
    for deployment in (d for d in rendered if d["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        role, verb, flag, path = container["args"]
        group = root.commands[role]
        assert flag in {o for p in group.commands[verb].params for o in getattr(p, "opts", [])}
        config_map = next(d for d in rendered if d["kind"] == "ConfigMap"
                          and d["metadata"]["name"] == deployment["metadata"]["name"])  # fmt: skip
        text = config_map["data"][Path(path).name].replace(
            "/etc/fleetedge", str(mounted / "etc/fleetedge")
        )
        file = tmp_path / Path(path).name
        file.write_text(text)
        # Each service's /metrics on the pod's addresses, on a port the pod declares.
        ports = {p["containerPort"] for p in container["ports"]}
        if role == "vessel":
            vessel = load_config(file, VesselConfig)
            assert vessel.kafka.bootstrap == "mv-anna-kafka-bootstrap:9092"
            assert vessel.metrics_host == "0.0.0.0"
            assert ports == set(range(vessel.metrics_port, vessel.metrics_port + 4))
            continue
        config = load_config(file, ShoreConfig)
        assert config.metrics_host == "0.0.0.0"
        if config.run != ["api"]:
            assert ports == {config.metrics_port}
        assert config.create_topics is False  # the Topic Operator makes them
        assert len(config.run) == 1
        assert config.kafka.username == f"svc-{config.run[0]}"
        if config.run == ["api"]:
            _check_exposed_api(config, deployment, rendered)
        if config.run == ["link"]:
            _check_link_watch(config, deployment)


def _check_link_watch(config: ShoreConfig, deployment: dict[str, Any]) -> None:
    """The link's pod watches Strimzi's Connect cluster, whose KafkaConnector resources own
    the connectors, and reaches each vessel as its principal with Secrets mounted where its
    file says."""
    assert config.connect.urls == ["http://fleet-link-connect-api:8083"]
    assert config.connect.manage_connectors is False
    assert [v.id for v in config.vessels] == VESSELS
    secrets = {v["secret"]["secretName"] for v in deployment["spec"]["template"]["spec"]["volumes"]
               if "secret" in v}  # fmt: skip
    for vessel in config.vessels:
        assert vessel.username == vessel.id
        assert f"{vessel.id}-link-password" in secrets
        assert f"{vessel.id}-cluster-ca-cert" in secrets


def _check_exposed_api(
    config: ShoreConfig, deployment: dict[str, Any], rendered: list[dict[str, Any]]
) -> None:
    """The API's pod listens beyond loopback, so: TLS from its Secret, a token on reads, and
    probes on the one route that needs none, behind a Service."""
    assert config.api.host == "0.0.0.0"
    assert config.api.reads == "token"
    assert config.api.tls_cert is not None
    assert config.api.tls_cert.name == "tls.crt"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/livez", "port": "https", "scheme": "HTTPS",
    }  # fmt: skip
    (port,) = container["ports"]
    assert port["containerPort"] == config.api.port
    secrets = {v["secret"]["secretName"] for v in deployment["spec"]["template"]["spec"]["volumes"]
               if "secret" in v}  # fmt: skip
    assert {"fleetedge-api-tls", "fleetedge-api-tokens"} <= secrets
    (service,) = [d for d in rendered if d["kind"] == "Service"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "https"


def test_the_image_runs_the_fleet_command() -> None:
    dockerfile = (Path(__file__).parents[2] / "Dockerfile").read_text()
    entry = next(line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT"))
    scripts = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert entry == 'ENTRYPOINT ["fleet"]'
    assert "fleet" in scripts["project"]["scripts"]
    assert "USER 10001" in dockerfile  # runAsNonRoot needs a numeric user


def test_a_systemd_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    vessels, shore = _roles(tmp_path)
    written = render("systemd", tmp_path / "out", vessels=vessels, shore=shore)
    assert sorted(p.name for p in written) == [
        "fleetedge-mv-anna.service", "fleetedge-shore.service", "mv-anna.toml", "shore.toml",
    ]  # fmt: skip
    rendered = (tmp_path / "out" / "fleetedge-mv-anna.service").read_text()
    assert (
        "ExecStart=/opt/fleetedge/bin/fleet vessel run --config /etc/fleetedge/mv-anna.toml"
        in rendered
    )
    # The same template with a fleet command that exists here, for systemd-analyze to check.
    fleet = Path(sys.executable).parent / "fleet"
    unit = tmp_path / "fleetedge-check.service"
    unit.write_text(units.unit("vessel", "vessel mv-anna", fleet=fleet, config=tmp_path / "v.toml"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # verify exits 0 even for unknown keys: its messages are what counts.
    assert done.stderr.strip() == "", done.stderr


def test_what_kubernetes_cannot_name_is_refused(tmp_path: Path) -> None:
    vessels, _ = _roles(tmp_path)
    path, vessel = vessels[0]
    odd = vessel.model_copy(update={"vessel": "mv_anna"})
    with pytest.raises(DeployError, match="'mv_anna' cannot name a Kubernetes object"):
        render("kubernetes", tmp_path / "out", vessels=[(path, odd)], shore=None)
