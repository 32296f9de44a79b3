"""The roles against Kafka they did not start: the vessel's services on a Kafka the test runs
with Kafka's own entry point, the shore's on a secured cluster known to it only by its
bootstrap, CA and credentials. A bad file or a cluster that refuses starts nothing."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient, ResourcePatternType

from fleetedge.deploy import kubernetes, strimzi
from fleetedge.events import ContainerWindow, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.orchestration.state import Snapshot
from fleetedge.projections import open_database
from fleetedge.projections.base import current_generation, rows
from fleetedge.roles import ShoreConfig, load_config
from fleetedge.roles.config import ShoreVessel
from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports
from fleetedge.runtime.ports import free_port_run, free_ports
from fleetedge.runtime.waiting import wait_until
from fleetedge.security import acls, admin, clients
from fleetedge.security import fleet as security
from fleetedge.security.clients import kafka_config
from fleetedge.security.store import ADMIN, SecurityStore
from fleetedge.settings import RuntimeSettings
from tests.support.cli import fleet
from tests.support.fleet import mirror, simulate
from tests.support.own_kafka import own_kafka
from tests.support.services import Service
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
VESSEL = "mv-roles"
SHORE_KINDS = {
    "normalizer": acls.NORMALIZER,
    "analytics": acls.ANALYTICS,
    "projector": acls.PROJECTOR,
    "backfill": acls.BACKFILL,
    "api": acls.API,
}


def _healthy(state: Path, count: int) -> Snapshot | None:
    snap = Snapshot.load(state / "services.json")
    if snap is None or len(snap.services) != count:
        return None
    return snap if all(s.phase == "healthy" for s in snap.services) else None


def _all_gone(snap: Snapshot) -> None:
    """Every service the role ran has exited with it."""
    for service in snap.services:
        assert service.pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(service.pid, 0)


# -- the vessel ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vessel_kafka(runtime: KafkaRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_kafka(runtime, tmp_path_factory.mktemp("own-kafka")) as bootstrap:
        yield bootstrap


def _vessel_file(directory: Path, bootstrap: str) -> Path:
    path = directory / "vessel.toml"
    path.write_text(
        f'vessel = "{VESSEL}"\nstate_dir = "state"\nmetrics_port = {free_port_run(4)}\n'
        f'[kafka]\nbootstrap = "{bootstrap}"\n'
        "[reefers]\ncontainers = 20\nspeedup = 600\n"
    )
    return path


def test_the_vessel_role_runs_on_a_kafka_it_did_not_start_and_restarts_losing_nothing(
    vessel_kafka: str, tmp_path: Path
) -> None:
    """The vessel role on a Kafka the test started with Kafka's own entry point: its four
    services come up, and each reefer's windows are written once. Then an upgrade aboard: while
    the reefers report, every service is stopped with SIGTERM and started again, one after
    another. Every reading is written once (the simulator resumes after its last), and every
    reading lands in exactly one window: each reefer's windows follow one another seq for seq,
    none twice. SIGTERM to the role stops it all."""
    config = _vessel_file(tmp_path, vessel_kafka)
    state = tmp_path / "state"
    role = Service(tmp_path / "logs", "vessel-role", "vessel", "run", "--config", str(config))
    try:
        snap = wait_until(
            lambda: _healthy(state, 4) if role.alive else pytest.fail(role.output()[-3000:]),
            timeout=240, what="the vessel's four services healthy", interval=1,
        )  # fmt: skip
        assert [s.name for s in snap.services] == [
            f"sim-{VESSEL}", f"edge-{VESSEL}", f"resend-{VESSEL}", f"commands-{VESSEL}",
        ]  # fmt: skip

        # Speedup 600: a 15-minute window and its 5 minutes' grace pass in 2 s of wall time.
        def each_reefers_window() -> list[Message] | None:
            got = read_topic(vessel_kafka, t.AGGREGATES.name, timeout=30)
            return got if len({m.key() for m in got}) == 20 else None

        wait_until(
            each_reefers_window, timeout=180, what="a closed window of each of the 20 reefers"
        )
        for service in snap.services:
            assert service.pid is not None
            before = len(read_topic(vessel_kafka, t.TELEMETRY.name, timeout=30))
            os.kill(service.pid, signal.SIGTERM)

            def back(name: str = service.name, old: int = service.pid) -> bool:
                return _restarted(state, name, old) or not role.alive

            wait_until(back, timeout=180, what=f"{service.name} stopped and started again")
            assert role.alive, role.output()[-3000:]

            # The reefers go on reporting through each restart (the load the upgrade meets).
            def more(n: int = before) -> bool:
                return len(read_topic(vessel_kafka, t.TELEMETRY.name, timeout=30)) > n

            wait_until(more, timeout=120, what=f"readings after {service.name} came back")
        last = _healthy(state, 4)
        assert last is not None
        assert [s.restarts for s in last.services] == [1, 1, 1, 1]
    finally:
        code = role.stop(90)
    assert code == 0, role.output()[-3000:]
    assert "stopped; logs in" in role.output()
    _all_gone(snap)
    _each_reading_once_in_one_window(vessel_kafka, reefers=20)


def _each_reading_once_in_one_window(bootstrap: str, reefers: int) -> None:
    readings = Counter(
        (e.container_id, e.seq)
        for e in (decode(m.value()) for m in read_topic(bootstrap, t.TELEMETRY.name))
        if isinstance(e, ReeferReading)
    )
    assert max(readings.values()) == 1, "a reading was written twice"
    by_box: dict[str, list[int]] = {}
    for box, seq in readings:
        by_box.setdefault(box, []).append(seq)
    assert len(by_box) == reefers
    for box, seqs in by_box.items():
        assert sorted(seqs) == list(range(1, max(seqs) + 1)), f"{box}: a reading is missing"
    windows: dict[str, list[ContainerWindow]] = {}
    for m in read_topic(bootstrap, t.AGGREGATES.name):
        event = decode(m.value())
        assert isinstance(event, ContainerWindow)
        windows.setdefault(event.container_id, []).append(event)
    assert len(windows) == reefers
    for box, boxes in windows.items():
        boxes.sort(key=lambda w: w.first_seq)
        assert boxes[0].first_seq == 1, box
        for earlier, later in itertools.pairwise(boxes):
            assert later.first_seq == earlier.last_seq + 1, (box, earlier, later)
        assert all(not w.gaps and w.count == w.last_seq - w.first_seq + 1 for w in boxes), box
        # Every closed window's readings were written, none beyond the last one written.
        assert boxes[-1].last_seq <= max(by_box[box]), box


def test_a_vessel_file_naming_no_kafka_starts_nothing(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    closed = free_ports(1)[0]
    config = _vessel_file(tmp_path, f"127.0.0.1:{closed}")
    done = fleet(
        "vessel", "run", "--config", str(config), home=tmp_path / "home", settings=settings
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"error: kafka.bootstrap: no broker answered at 127.0.0.1:{closed} in 15s"
    )
    assert not (tmp_path / "state").exists()


# -- the shore -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured_shore(
    fleet_home: Path, runtime: KafkaRuntime
) -> Iterator[tuple[KafkaCluster, SecurityStore]]:
    """A secured shore cluster with the services' principals and the vessel's reader grants,
    provisioned by its operator; the role gets only the bootstrap, the CA and passwords."""
    home = fleet_home / f"roles-{uuid.uuid4().hex[:6]}"
    store = SecurityStore(home)
    name = f"shore{uuid.uuid4().hex[:4]}"
    shore = KafkaCluster.create(
        name, home=home, runtime=runtime, ports=free_node_ports(1),
        security=security.shore_security(store, name),
    )  # fmt: skip
    try:
        shore.up()
        security.provision_services(store, shore.bootstrap_servers)
        security.add_vessel(
            store, VESSEL, shore_bootstrap=shore.bootstrap_servers, vessel_bootstrap=None
        )
        yield shore, store
    finally:
        shore.down(purge=True)


def _shore_file(
    directory: Path,
    shore: KafkaCluster,
    store: SecurityStore,
    *,
    wrong_admin: bool = False,
    connect: list[str] | None = None,
    linked: str | None = None,
) -> Path:
    """The shore's file: the cluster's address and CA, a login per kind; with ``connect`` and
    ``linked`` (the vessel's bootstrap), the Connect cluster and the vessel LINKED too."""
    secrets = directory / "secrets"
    secrets.mkdir(exist_ok=True, mode=0o700)
    principals = (ADMIN, *SHORE_KINDS.values(), *((acls.LINK, LINKED) if connect else ()))
    for principal in principals:
        password = store.principal(principal).password.get_secret_value()
        if principal == ADMIN and wrong_admin:
            password = "not-" + password
        (secrets / principal).write_text(password + "\n")
    kinds = {**SHORE_KINDS, **({"link": acls.LINK} if connect else {})}
    logins = "".join(
        f'[principals.{kind}]\nusername = "{p}"\npassword_file = "secrets/{p}"\n'
        for kind, p in kinds.items()
    )
    if connect:
        logins += (
            f"[connect]\nurls = {json.dumps(connect)}\n"
            f'[[vessels]]\nid = "{LINKED}"\nlink_bootstrap = "{linked}"\n'
            f'username = "{LINKED}"\npassword_file = "secrets/{LINKED}"\n'
        )
    path = directory / "shore.toml"
    path.write_text(
        f'database = "sqlite:///{directory / "fleet.db"}"\nstate_dir = "state"\n'
        f"metrics_port = {free_port_run(5)}\n"
        f'[kafka]\nbootstrap = "{shore.bootstrap_servers}"\nca_file = "{store.ca_file}"\n'
        f'username = "{ADMIN}"\npassword_file = "secrets/{ADMIN}"\n'
        f"{logins}[api]\nport = {free_ports(1)[0]}\n[analytics]\nworkers = 1\n"
    )
    return path


def test_a_wrong_password_starts_nothing(
    secured_shore: tuple[KafkaCluster, SecurityStore], tmp_path: Path, settings: RuntimeSettings
) -> None:
    shore, store = secured_shore
    config = _shore_file(tmp_path, shore, store, wrong_admin=True)
    done = fleet("shore", "run", "--config", str(config), home=tmp_path / "home", settings=settings)
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: kafka: {shore.bootstrap_servers} refused the login as admin")
    assert not (tmp_path / "state").exists()


def _restarted(state: Path, name: str, old_pid: int) -> bool:
    """``name`` runs again under a new process, healthy, having exited cleanly: 0, or the
    SIGTERM it was sent (uvicorn, the API's server, re-raises it once it has shut down)."""
    snap = Snapshot.load(state / "services.json")
    service = next((s for s in snap.services if s.name == name), None) if snap else None
    return (
        service is not None
        and service.pid not in (None, old_pid)
        and service.phase == "healthy"
        and service.last_exit in (0, -signal.SIGTERM)
    )


def test_the_shore_role_runs_on_a_secured_kafka_and_a_rolling_restart_loses_nothing(
    secured_shore: tuple[KafkaCluster, SecurityStore], tmp_path: Path
) -> None:
    """The shore role given only the cluster's address, CA and logins, each kind as its own
    principal. While a vessel's data flows in, every service is stopped and started again,
    one after another (what an upgrade does): every window and alert is normalized and
    projected exactly once."""
    shore, store = secured_shore
    boot = shore.bootstrap_servers
    config = _shore_file(tmp_path, shore, store)
    state = tmp_path / "state"
    role = Service(tmp_path / "logs", "shore-role", "shore", "run", "--config", str(config))
    feeder: threading.Thread | None = None
    try:
        snap = wait_until(
            lambda: _healthy(state, 5) if role.alive else pytest.fail(role.output()[-3000:]),
            timeout=240, what="the shore's five services healthy", interval=1,
        )  # fmt: skip
        # Each service presents its own principal: its credentials file names it.
        for kind, principal in SHORE_KINDS.items():
            body = json.loads((state / "clients" / f"{kind}.json").read_text())
            assert body["username"] == principal
        # The vessel's edge output, as MirrorMaker 2 lands it ashore (as the operator), as a
        # steady flow through the restarts.
        clients.use_as_admin(boot, security.auth(store, ADMIN))
        run = simulate(VESSEL, containers=20, minutes=240, seed=3)
        feeder = threading.Thread(target=mirror, args=(boot, [run]), kwargs={"per_second": 8})
        feeder.start()
        for service in snap.services:
            assert service.pid is not None
            os.kill(service.pid, signal.SIGTERM)

            def back(name: str = service.name, old: int = service.pid) -> bool:
                return _restarted(state, name, old) or not role.alive

            wait_until(back, timeout=180, what=f"{service.name} stopped and started again")
            assert role.alive, role.output()[-3000:]
        feeder.join(timeout=300)
        assert not feeder.is_alive(), "the vessel's records were not all written"
        windows, alerts = len(run.of(t.AGGREGATES.name)), len(run.of(t.ALERTS.name))
        assert alerts, "the busy fault rates raise alerts"

        wait_until(
            lambda: len(read_topic(boot, t.FLEET_WINDOWS.name, timeout=30)) >= windows,
            timeout=180, what=f"{windows} windows normalized", interval=2,
        )  # fmt: skip
        # Exactly once: the normalizer's transactions carried it through its restart.
        assert len(read_topic(boot, t.FLEET_WINDOWS.name)) == windows
        assert len(read_topic(boot, t.FLEET_ALERTS.name)) == alerts
        db = open_database(f"sqlite:///{tmp_path / 'fleet.db'}")
        try:

            def projected() -> int | None:
                gen = current_generation(db)
                got = len(list(rows(db, gen, "container_windows"))) if gen else 0
                return got if got >= windows else None

            assert wait_until(projected, timeout=120, what="windows projected", interval=2) == (
                windows
            )
        finally:
            db.close()
        last = _healthy(state, 5)
        assert last is not None
        assert [s.restarts for s in last.services] == [1, 1, 1, 1, 1]
    finally:
        if feeder is not None:
            feeder.join(timeout=300)
        clients.forget(boot)
        code = role.stop(90)
    assert code == 0, role.output()[-3000:]
    _all_gone(snap)


def test_the_rendered_users_and_topics_are_the_running_shores(
    secured_shore: tuple[KafkaCluster, SecurityStore], tmp_path: Path
) -> None:
    """What `fleet deploy render` gives Strimzi's operators to make is what `fleet security`
    and the shore role made on this cluster: the same principals, ACLs and topics."""
    shore, store = secured_shore
    boot = shore.bootstrap_servers
    config = load_config(_shore_file(tmp_path, shore, store), ShoreConfig).model_copy(
        update={
            "database": "postgresql://fleet@db/fleet",
            "vessels": [ShoreVessel(id=VESSEL, link_bootstrap="ship.example:9094")],
        }
    )
    rendered = kubernetes.render_shore(config, namespace="fleetedge", image="fleetedge:test")
    users = {d["metadata"]["name"]: d["spec"] for d in rendered["shore-users.yaml"]}
    assert set(users) == {*acls.SERVICES, VESSEL}
    clients.use_as_admin(boot, security.auth(store, ADMIN))
    try:
        for principal, spec in users.items():
            expected = {
                (r["resource"]["type"], r["resource"]["name"], r["resource"]["patternType"], op)
                for r in spec["authorization"]["acls"]
                for op in r["operations"]
            }
            running = {
                (strimzi.RESOURCES[b.restype], b.name,
                 "prefix" if b.resource_pattern_type == ResourcePatternType.PREFIXED else "literal",
                 strimzi.OPERATIONS[b.operation])
                for b in admin.acls_of(boot, principal)
            }  # fmt: skip
            assert running == expected, principal
        # The topics the shore role made (the test before): each rendered as a KafkaTopic.
        made = {
            name
            for name in AdminClient(kafka_config(boot)).list_topics(timeout=30).topics
            # Kafka's own, the vessel's mirrored ones, and the cluster's start-up probe's.
            if not name.startswith(("__", f"{VESSEL}.", "fleetedge.probe"))
        }
    finally:
        clients.forget(boot)
    named = {d["spec"]["topicName"] for d in rendered["shore-topics.yaml"]}
    assert made == named - {f"fleet.commands.{VESSEL}"}


# -- both roles, over Kafka Connect --------------------------------------------------------------

LINKED = "mv-linked"  # a vessel of its own: the tests above fed mv-roles' topics ashore by hand


def test_both_roles_carry_windows_and_alerts_ashore_over_connect_and_nothing_is_lost(
    secured_shore: tuple[KafkaCluster, SecurityStore],
    runtime: KafkaRuntime,
    tmp_path: Path,
    settings: RuntimeSettings,
) -> None:
    """The whole path on Kafka neither role started: the vessel role on a Kafka the test runs
    with Kafka's own entry point; a Connect cluster run as its operator would (``svc-connect``,
    nothing of the roles); the shore role given the shore's address, CA and logins, the
    Connect URL and the vessel. The shore's link puts the vessel's MirrorMaker 2 connectors on
    Connect; windows and a scripted incident's alerts come ashore, the link reports online,
    and ``fleet check --shore-config`` finds nothing lost and nothing twice."""
    shore, store = secured_shore
    boot = shore.bootstrap_servers
    clients.use_as_admin(boot, security.auth(store, ADMIN))
    security.add_vessel(store, LINKED, shore_bootstrap=boot, vessel_bootstrap=None)
    worker = security.auth(store, acls.CONNECT).java()
    group = ConnectGroup(
        runtime, tmp_path / "connect", ConnectSettings(boot, 1, worker), free_ports(1)
    )
    roles: list[Service] = []
    try:
        with own_kafka(runtime, tmp_path / "own-kafka") as aboard:
            connect = group.start()
            vessel_dir, shore_dir = tmp_path / "vessel", tmp_path / "shore"
            vessel_dir.mkdir()
            shore_dir.mkdir()
            vessel_file = vessel_dir / "vessel.toml"
            vessel_file.write_text(
                f'vessel = "{LINKED}"\nstate_dir = "state"\nmetrics_port = {free_port_run(4)}\n'
                f'[kafka]\nbootstrap = "{aboard}"\n[reefers]\ncontainers = 20\nspeedup = 600\n'
            )
            shore_file = _shore_file(shore_dir, shore, store, connect=group.urls, linked=aboard)
            api = load_config(shore_file, ShoreConfig).api.url
            roles += [
                Service(vessel_dir / "logs", "vessel-role", "vessel", "run", "--config",
                        str(vessel_file)),
                Service(shore_dir / "logs", "shore-role", "shore", "run", "--config",
                        str(shore_file)),
            ]  # fmt: skip
            for state, count in ((vessel_dir / "state", 4), (shore_dir / "state", 6)):

                def healthy(at: Path = state, n: int = count) -> Snapshot | None:
                    _exited(roles)
                    return _healthy(at, n)

                wait_until(healthy, timeout=300, what=f"{count} services healthy in {state}",
                           interval=1)  # fmt: skip
            # A bay loses power aboard: the edge raises alerts, which come ashore first.
            (vessel_dir / "state" / "faults.live").write_text("0m bay 1 power-loss 40m\n")

            def ashore() -> bool:
                _exited(roles)
                windows = _get(f"{api}/api/vessels/{LINKED}/containers")
                alerts = _get(f"{api}/api/alerts?vessel={LINKED}&limit=100")
                return len(windows) == 20 and bool(alerts)

            wait_until(ashore, timeout=300, what="each reefer's windows and an alert ashore",
                       interval=2)  # fmt: skip
            states = connect.connectors()
            assert {n for n in states if n.startswith(f"{LINKED}.")} == {
                f"{LINKED}.priority", f"{LINKED}.bulk",
            }  # fmt: skip
            wait_until(
                lambda: {v["vessel_id"]: v["link"]["state"] for v in _get(f"{api}/api/link")
                         }.get(LINKED) == "online",
                timeout=120, what="the link reported online", interval=2,
            )  # fmt: skip
            done = fleet("check", "--shore-config", str(shore_file), "--timeout", "240",
                         home=tmp_path / "home", settings=settings, timeout=400)  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            assert "nothing lost" in done.stdout
            for role in reversed(roles):
                assert role.stop(90) == 0, role.output()[-3000:]
    finally:
        for role in roles:
            role.stop(90)
        group.stop()
        clients.forget(boot)


def _exited(roles: list[Service]) -> None:
    """Fail at once, with its output, if a role exited before its time."""
    for role in roles:
        if not role.alive:
            pytest.fail(role.output()[-3000:])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own loopback API
        return json.loads(answer.read())
