"""The roles' files: `vessel.toml` and `shore.toml` parse to what they say, and a bad file is
one line naming the file and the key, before anything starts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetedge.roles import ConfigError, ShoreConfig, VesselConfig, load_config
from fleetedge.roles.config import Mqtt, Simulated
from fleetedge.roles.run import metrics_on
from fleetedge.roles.shore import shore_role, shore_services
from fleetedge.roles.vessel import vessel_services
from fleetedge.settings import RuntimeSettings
from tests.support.cli import fleet
from tests.support.role_files import example_roles

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VESSEL = """
vessel = "mv-anna"
[kafka]
bootstrap = "127.0.0.1:19092"
"""


def _write(tmp_path: Path, text: str, name: str = "vessel.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path, *, shore: bool = False) -> str:
    try:
        load_config(path, ShoreConfig) if shore else load_config(path, VesselConfig)
    except ConfigError as exc:
        return exc.message
    raise AssertionError(f"{path} was accepted")


def test_the_shipped_examples_are_valid_files(tmp_path: Path) -> None:
    example_roles(tmp_path)
    vessel = load_config(tmp_path / "vessel.toml", VesselConfig)
    assert vessel.vessel == "mv-anna"
    assert vessel.state_dir == tmp_path.resolve() / "state" / "mv-anna"
    assert isinstance(vessel.reefers, Simulated)
    shore = load_config(tmp_path / "shore.toml", ShoreConfig)
    assert sorted(shore.principals) == ["analytics", "link", "normalizer"]
    assert shore.run[-1] == "link"  # the file names a Connect cluster
    assert [v.id for v in shore.vessels] == ["mv-anna"]
    auth = shore.kafka.auth(shore.principals["normalizer"])
    assert auth is not None
    assert auth.username == "svc-normalizer"
    assert auth.password.get_secret_value() == "s3cret"  # the line, without its newline
    assert auth.ca_file == tmp_path.resolve() / "ca.pem"


SECURED = "a secured listener needs ca_file, username and password_file"
BAD_VESSEL_FILES = [
    ('vessel = "mv-anna"\n', "kafka: missing"),
    ('vessel = "mv-anna"\n[kafka]\nbootstraps = "a:1"\n', "kafka.bootstrap: missing"),
    (VESSEL.replace("mv-anna", "MV Anna"), "vessel: 'MV Anna' is not a topic-safe"),
    (VESSEL.replace("mv-anna", "mv.anna"), "vessel: 'mv.anna' is not a topic-safe"),
    (VESSEL.replace("mv-anna", "shore"), "vessel: 'shore' is not a topic-safe"),
    (VESSEL.replace("127.0.0.1:19092", "host"), "kafka.bootstrap: 'host' is not host:port"),
    (VESSEL + 'username = "edge"\n', f"kafka: {SECURED}: missing ca_file, password_file"),
    (VESSEL + 'ca_file = "nowhere.pem"\n', "kafka.ca_file: no such file"),
    (VESSEL + '[reefers]\nsource = "can-bus"\n', "reefers: Input tag 'can-bus'"),
    (VESSEL + "[reefers]\ncontainers = 0\n", "reefers.containers: Input should be greater"),
    (VESSEL + "[edge]\nwindow = 15\n", "edge.window: not a known key"),
    ("vessel = mv-anna\n", "not TOML: Invalid value (at line 1, column 10)"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_VESSEL_FILES)
def test_a_bad_vessel_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    assert _error(path).startswith(f"{path}: {expected}")


def test_a_bad_shore_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    kafka = '[kafka]\nbootstrap = "127.0.0.1:9"\n'
    path = _write(tmp_path, kafka, "shore.toml")
    assert _error(path, shore=True) == f"{path}: database: missing"
    path.write_text('database = "mysql://x"\n' + kafka)
    assert _error(path, shore=True) == f"{path}: database: not a sqlite:/// or postgresql:// URL"
    base = 'database = "sqlite:///x.db"\n' + kafka
    path.write_text(base + '[principals.dashboard]\nusername = "x"\n')
    assert _error(path, shore=True).startswith(f"{path}: principals.dashboard.[key]: Input should")
    path.write_text(base + '[api]\nhost = "0.0.0.0"\n')
    assert _error(path, shore=True) == f'{path}: api: listening on 0.0.0.0 needs reads = "token"'
    path.write_text(base + '[api]\nhost = "0.0.0.0"\nreads = "token"\n')
    assert (
        _error(path, shore=True) == f"{path}: api: listening on 0.0.0.0 needs tls_cert and tls_key"
    )
    path.write_text(base + '[api]\nreads = "token"\ntls_cert = "nope.pem"\n')
    assert _error(path, shore=True) == f"{path}: api.tls_cert: no such file: {tmp_path}/nope.pem"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    assert _error(tmp_path / "vessel.toml") == f"{tmp_path}/vessel.toml: no such file"


@pytest.mark.parametrize("role", ["vessel", "shore"])
def test_the_commands_say_one_line_and_start_nothing(
    tmp_path: Path, settings: RuntimeSettings, role: str
) -> None:
    path = _write(tmp_path, 'state_dir = "state"\nvessel = "MV Anna"\n')
    done = fleet(role, "run", "--config", str(path), home=tmp_path / "home", settings=settings)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: ")
    assert not (tmp_path / "state").exists()


def test_a_vessel_runs_its_source_edge_resender_and_command_handler(tmp_path: Path) -> None:
    path = _write(tmp_path, VESSEL + "[edge]\nwindow_minutes = 5\n")
    config = load_config(path, VesselConfig)
    specs = vessel_services(
        config,
        started_at=T0,
        ports=iter(range(18300, 18304)),
        env={"FLEET_KAFKA_CREDENTIALS": "/x.json"},
    )
    assert [s.name for s in specs] == [
        "sim-mv-anna", "edge-mv-anna", "resend-mv-anna", "commands-mv-anna",
    ]  # fmt: skip
    assert [s.metrics_port for s in specs] == [18300, 18301, 18302, 18303]
    for spec in specs:
        assert spec.args[spec.args.index("--bootstrap") + 1] == "127.0.0.1:19092"
        assert spec.env == {"FLEET_KAFKA_CREDENTIALS": "/x.json"}
        assert spec.vessel == "mv-anna"
    edge = specs[1].args
    assert edge[edge.index("--window-minutes") + 1] == "5"
    mqtt = config.model_copy(update={"reefers": Mqtt(source="mqtt", port=1884)})
    source = vessel_services(mqtt, started_at=T0, ports=iter(range(4)))[0]
    assert source.args[:2] == ("ingest", "mqtt")
    assert source.args[source.args.index("--mqtt-port") + 1] == "1884"


def test_the_shore_runs_each_kind_as_its_own_principal(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\n[kafka]\nbootstrap = "127.0.0.1:9"\n'
        "[analytics]\nworkers = 3\n",
        "shore.toml",
    )
    config = load_config(path, ShoreConfig)
    env = {k: {"FLEET_KAFKA_CREDENTIALS": f"/{k}.json"} for k in
           ("normalizer", "analytics", "projector", "backfill", "api")}  # fmt: skip
    specs = shore_services(config, tmp_path / "state", env, path)
    assert [s.name for s in specs] == [
        "normalizer", "analytics-1", "analytics-2", "analytics-3", "projector", "backfill", "api",
    ]  # fmt: skip
    assert [s.metrics_port for s in specs[:-1]] == list(range(18300, 18306))
    assert specs[-1].health_url == "http://127.0.0.1:18080/livez"
    assert {s.kind: s.env["FLEET_KAFKA_CREDENTIALS"] for s in specs} == {
        k: f"/{k}.json" for k in env
    }


def test_a_pod_of_one_kind_runs_only_that_kind(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\nrun = ["analytics"]\n'
        '[kafka]\nbootstrap = "127.0.0.1:9"\n[analytics]\nworkers = 2\n',
        "shore.toml",
    )
    specs = shore_services(load_config(path, ShoreConfig), tmp_path, {}, path)
    assert [(s.name, s.metrics_port) for s in specs] == [
        ("analytics-1", 18300),
        ("analytics-2", 18301),
    ]
    path.write_text(path.read_text().replace('run = ["analytics"]', "run = []"))
    assert (
        _error(path, shore=True)
        == f"{path}: run: List should have at least 1 item after validation, not 0"
    )


def test_a_connect_url_adds_the_link_which_reads_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "mv-anna.password").write_text("secret\n")
    (tmp_path / "ca.crt").write_text("not read here\n")
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\n'
        '[kafka]\nbootstrap = "127.0.0.1:9"\nca_file = "ca.crt"\nusername = "admin"\n'
        'password_file = "mv-anna.password"\n'
        '[connect]\nurls = ["http://127.0.0.1:8083/"]\n'
        '[[vessels]]\nid = "mv-anna"\nlink_bootstrap = "ship.example:9094"\n'
        'username = "mv-anna"\npassword_file = "mv-anna.password"\n',
        "shore.toml",
    )
    config = load_config(path, ShoreConfig)
    assert config.connect.urls == ["http://127.0.0.1:8083"]
    assert config.run[-1] == "link"
    [link] = [s for s in shore_services(config, tmp_path / "state", {}, path) if s.kind == "link"]
    assert (link.name, link.args[:4]) == ("link", ("shore", "link", "--config", str(path)))
    assert link.metrics_port is not None
    login = config.vessels[0].login()
    assert login is not None
    assert login.password().get_secret_value() == "secret"


def test_the_link_needs_a_connect_url_and_a_vessel_its_whole_login(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\nrun = ["link"]\n[kafka]\nbootstrap = "127.0.0.1:9"\n',
        "shore.toml",
    )
    assert _error(path, shore=True) == (
        f"{path}: (top): the link kind needs connect.urls (the Connect workers' REST URLs)"
    )
    path.write_text(
        'database = "sqlite:///f.db"\n[kafka]\nbootstrap = "127.0.0.1:9"\n'
        '[connect]\nurls = ["127.0.0.1:8083"]\n'
    )
    assert _error(path, shore=True) == (
        f"{path}: connect.urls.0: '127.0.0.1:8083' is not an http:// or https:// URL"
    )
    path.write_text(
        'database = "sqlite:///f.db"\n[kafka]\nbootstrap = "127.0.0.1:9"\n'
        '[[vessels]]\nid = "mv-anna"\nlink_bootstrap = "ship.example:9094"\n'
        'username = "mv-anna"\n'
    )
    assert _error(path, shore=True) == (
        f"{path}: vessels.0: username and password_file go together"
    )
    without = load_config(
        _write(tmp_path, 'database = "sqlite:///f.db"\n[kafka]\nbootstrap = "127.0.0.1:9"\n',
               "plain.toml"),
        ShoreConfig,
    )  # fmt: skip
    assert "link" not in without.run


def test_a_role_in_a_pod_serves_metrics_beyond_loopback(tmp_path: Path) -> None:
    """``metrics_host`` reaches every service as FLEET_METRICS_HOST, which the services'
    metrics server binds; unsaid, nothing is set and they bind 127.0.0.1."""
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\nmetrics_host = "0.0.0.0"\n'
        '[kafka]\nbootstrap = "127.0.0.1:9"\n',
        "shore.toml",
    )
    config = load_config(path, ShoreConfig)
    specs = metrics_on(shore_services(config, tmp_path, {}, path), config.metrics_host)
    assert {s.env.get("FLEET_METRICS_HOST") for s in specs} == {"0.0.0.0"}
    default = config.model_copy(update={"metrics_host": "127.0.0.1"})
    specs = metrics_on(shore_services(default, tmp_path, {}, path), default.metrics_host)
    assert all("FLEET_METRICS_HOST" not in s.env for s in specs)
    assert RuntimeSettings(metrics_host="0.0.0.0").metrics_host == "0.0.0.0"


def test_a_vessel_without_its_login_on_a_secured_shore_is_said_before_anything(
    tmp_path: Path,
) -> None:
    """The link's connectors present the vessel's principal ashore: without it the role stops
    at the file, before it reaches for Kafka (127.0.0.1:9 answers nothing)."""
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "admin").write_text("s3cret\n")
    path = _write(
        tmp_path,
        'database = "sqlite:///f.db"\n[kafka]\nbootstrap = "127.0.0.1:9"\nca_file = "ca.pem"\n'
        'username = "admin"\npassword_file = "admin"\n[connect]\nurls = ["http://127.0.0.1:1"]\n'
        '[[vessels]]\nid = "mv-anna"\nlink_bootstrap = "ship.example:9094"\n',
        "shore.toml",
    )
    with pytest.raises(ConfigError) as raised:
        shore_role(load_config(path, ShoreConfig), tmp_path / "home", path)
    assert raised.value.message == (
        f"{path}: vessels.mv-anna: the shore is secured, so its connectors need the vessel's "
        "username and password_file"
    )
    assert not (tmp_path / "home").exists()
