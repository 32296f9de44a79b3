"""Security with real clusters: a secured shore (SASL_SSL, SCRAM-SHA-512, ACLs), two vessels
whose link listeners are on TLS, and their priority connectors on a Connect worker that runs as
``svc-connect``, through the link emulator, each connector presenting its vessel's principal
at both ends.

Principals are made as `fleet up` makes them (:mod:`fleetedge.security.fleet`) in a security
store of this module's own.
"""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from fleetedge.events import topics
from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.link.connectors import connector_name
from fleetedge.link.emulator import LinkEmulator
from fleetedge.link.mirror import PRIORITY, commands_topic
from fleetedge.link.setup import vessel_link
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports
from fleetedge.runtime.exceptions import ClusterError
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.reading import end_offset, partitions_of, read_to_end
from fleetedge.runtime.waiting import wait_until
from fleetedge.security import acls
from fleetedge.security import fleet as security
from fleetedge.security.ca import LocalCA
from fleetedge.security.clients import kafka_config
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings

pytestmark = pytest.mark.kafka

ALERTS_ASHORE = "{vessel}." + topics.ALERTS.name


@dataclass
class SecureFleet:
    store: SecurityStore
    shore: KafkaCluster
    vessels: dict[str, KafkaCluster]
    connect: ConnectGroup

    def as_principal(self, name: str) -> dict[str, str]:
        return {
            "bootstrap.servers": self.shore.bootstrap_servers,
            **security.auth(self.store, name).librdkafka(),
        }


@pytest.fixture(scope="module")
def fleet(
    fleet_home: Path, runtime: KafkaRuntime, settings: RuntimeSettings
) -> Iterator[SecureFleet]:
    home = fleet_home / f"secure-{uuid.uuid4().hex[:6]}"
    store = SecurityStore(home)
    tag = uuid.uuid4().hex[:4]
    names = [f"ship{tag}-1", f"ship{tag}-2"]
    shore = KafkaCluster.create(
        f"shore{tag}",
        home=home,
        runtime=runtime,
        ports=free_node_ports(1),
        security=security.shore_security(store, f"shore{tag}"),
    )
    vessels = {
        name: KafkaCluster.create(
            name,
            home=home,
            runtime=runtime,
            ports=free_node_ports(1, link=True),
            security=security.vessel_security(store, name),
        )
        for name in names
    }
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    emulator = LinkEmulator(home / "link", binary.path, free_ports(1)[0])
    directory = home / "link" / "connect"
    group: ConnectGroup | None = None
    try:
        for cluster in (shore, *vessels.values()):
            cluster.up()
        security.provision_services(store, shore.bootstrap_servers)
        for name, vessel in vessels.items():
            security.add_vessel(
                store,
                name,
                shore_bootstrap=shore.bootstrap_servers,
                vessel_bootstrap=vessel.bootstrap_servers,
            )
        emulator.start()
        worker_identity = security.auth(store, acls.CONNECT).java()
        group = ConnectGroup(
            runtime,
            directory,
            ConnectSettings(shore.bootstrap_servers, 1, worker_identity),
            free_ports(1),
        )
        connect = group.start()
        for name, vessel in vessels.items():
            link = vessel_link(
                runtime,
                directory,
                emulator,
                vessel,
                shore,
                downlink_port=free_ports(1)[0],
                credentials=security.auth(store, name),
            )
            priority = connector_name(name, PRIORITY)
            connect.put_config(priority, link.connectors[priority])
        yield SecureFleet(store, shore, vessels, group)
    finally:
        if group is not None:
            group.kill()  # not stopped: its data is deleted next
        emulator.stop()
        for cluster in (*vessels.values(), shore):
            cluster.down(purge=True)


def _produce_aboard(vessel: KafkaCluster, count: int, marker: str) -> None:
    producer = Producer({**kafka_config(vessel.bootstrap_servers), "acks": "all"})
    for i in range(count):
        producer.produce(topics.ALERTS.name, f"{marker}-{i}".encode(), vessel.name.encode())
    assert producer.flush(30) == 0


def _ashore(fleet: SecureFleet, vessel: str) -> int:
    """Committed records in the vessel's alerts ashore (read as the admin)."""
    topic = ALERTS_ASHORE.format(vessel=vessel)
    if end_offset(fleet.shore.bootstrap_servers, topic) == 0:
        return 0
    return len(read_to_end(fleet.shore.bootstrap_servers, topic))


def _produce_as(config: dict[str, str], topic: str) -> KafkaError | None:
    producer = Producer({**config, "message.timeout.ms": 15000})
    errors: list[KafkaError | None] = []
    producer.produce(topic, b"attempt", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(20)
    assert errors, "no delivery report"
    return errors[0]


def _connection_errors(config: dict[str, str]) -> list[KafkaError]:
    """Try to fetch metadata with ``config``; the errors the client reported on the way."""
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # error callbacks are served by poll
    return errors


def test_a_vessel_writes_only_its_own_topics(fleet: SecureFleet) -> None:
    one, two = fleet.vessels
    create_topic(fleet.shore.bootstrap_servers, ALERTS_ASHORE.format(vessel=two), partitions=3,
                 replication_factor=1)  # fmt: skip
    create_topic(fleet.shore.bootstrap_servers, f"{one}.probe", replication_factor=1)
    assert _produce_as(fleet.as_principal(one), f"{one}.probe") is None
    refused = _produce_as(fleet.as_principal(one), ALERTS_ASHORE.format(vessel=two))
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    shared = _produce_as(fleet.as_principal(one), "fleet.windows")
    assert shared is not None
    assert shared.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_vessel_reads_only_its_own_commands(fleet: SecureFleet) -> None:
    one, two = fleet.vessels
    for name in (one, two):
        create_topic(fleet.shore.bootstrap_servers, commands_topic(name), replication_factor=1)
    consumer = Consumer(
        {**fleet.as_principal(one), "group.id": f"{one}-mm2-probe", "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([commands_topic(two)])
        message = consumer.poll(15)
        assert message is not None
        assert message.error() is not None
        assert message.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        consumer.close()
    # Its own commands it may read (nothing there yet, and no error).
    admin = AdminClient(fleet.as_principal(one))
    visible = admin.list_topics(timeout=10).topics
    assert commands_topic(one) in visible
    assert commands_topic(two) not in visible


def test_a_topic_a_principal_may_not_see_is_an_error_not_an_empty_topic(
    fleet: SecureFleet,
) -> None:
    one, two = fleet.vessels
    for name in (one, two):
        create_topic(fleet.shore.bootstrap_servers, commands_topic(name), replication_factor=1)
    consumer = Consumer({**fleet.as_principal(one), "group.id": f"{one}-mm2-probe"})
    try:
        assert partitions_of(consumer, commands_topic(one)) == [0]
        assert partitions_of(consumer, f"{one}.no-such-topic") == []
        # Reading another vessel's commands must not look like reading an empty topic.
        with pytest.raises(ClusterError, match=r"(?i)authoriz"):
            partitions_of(consumer, commands_topic(two))
    finally:
        consumer.close()


def test_a_shore_service_holds_only_what_it_needs(fleet: SecureFleet) -> None:
    one = next(iter(fleet.vessels))
    create_topic(fleet.shore.bootstrap_servers, commands_topic(one), replication_factor=1)
    # The projector reads the fleet; it may not send a vessel commands.
    refused = _produce_as(fleet.as_principal(acls.PROJECTOR), commands_topic(one))
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # The backfill requester may.
    assert _produce_as(fleet.as_principal(acls.BACKFILL), commands_topic(one)) is None


def test_no_credentials_a_wrong_password_or_another_ca_are_refused(
    fleet: SecureFleet, tmp_path: Path
) -> None:
    right = fleet.as_principal(acls.PROJECTOR)
    AdminClient(right).list_topics(timeout=10)  # the right identity gets in

    # No credentials at all, in plaintext or over TLS: no metadata (_connection_errors raises).
    _connection_errors({"bootstrap.servers": fleet.shore.bootstrap_servers})
    tls_only = {k: v for k, v in right.items() if not k.startswith("sasl.")}
    _connection_errors({**tls_only, "security.protocol": "SSL"})

    wrong = _connection_errors({**right, "sasl.password": "not-the-password"})
    assert any(e.code() == KafkaError._AUTHENTICATION for e in wrong), wrong

    other = LocalCA(tmp_path / "other-ca")
    other.ensure("Not the fleet's CA")
    foreign = _connection_errors({**right, "ssl.ca.location": str(other.cert_path)})
    assert any(e.code() == KafkaError._SSL for e in foreign), foreign
    assert any("certificate verify failed" in e.str() for e in foreign), foreign

    # The vessels' link listeners refuse a wrong password as well.
    vessel = next(iter(fleet.vessels.values()))
    link_port = vessel.state.nodes[0].link_port
    link = {**right, "bootstrap.servers": f"127.0.0.1:{link_port}", "sasl.password": "nope"}
    assert any(e.code() == KafkaError._AUTHENTICATION for e in _connection_errors(link))


def test_secrets_on_disk_are_for_their_owner_only(fleet: SecureFleet) -> None:
    store = fleet.store
    private = [
        store.ca.key_path,
        store.server_pem(fleet.shore.name),
        *(store.credentials_path(p) for p in store.principals()),
        *(fleet.shore.state.node_dir(n) / "server.properties" for n in fleet.shore.node_ids),
        *(w.directory / "worker.properties" for w in fleet.connect.workers),
        *(fleet.connect.workers[0].directory.parent / "secrets").glob("*.properties"),
    ]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_revoking_a_vessel_stops_its_link_while_others_carry_on(fleet: SecureFleet) -> None:
    one, two = fleet.vessels
    for vessel in fleet.vessels.values():
        _produce_aboard(vessel, 20, "before")
    for name in fleet.vessels:
        wait_until(lambda: _ashore(fleet, name) >= 20, timeout=240, what=f"{name}'s alerts ashore",  # noqa: B023
                   interval=2)  # fmt: skip
    before = _ashore(fleet, one)
    assert before == 20

    log = fleet.connect.workers[0].log_dir / "server.log"
    markers = (
        "TopicAuthorizationException",
        "TransactionalIdAuthorizationException",
        "SaslAuthenticationException",
    )

    def refusals() -> int:
        text = log.read_text(errors="replace")
        return sum(text.count(marker) for marker in markers)

    earlier = refusals()
    security.revoke_vessel(fleet.store, one, shore_bootstrap=fleet.shore.bootstrap_servers)
    assert not fleet.store.has_principal(one)
    for vessel in fleet.vessels.values():
        _produce_aboard(vessel, 20, "after")

    wait_until(lambda: _ashore(fleet, two) >= 40, timeout=180, what=f"{two}'s new alerts ashore",
               interval=2)  # fmt: skip
    wait_until(
        lambda: refusals() > earlier,
        timeout=120,
        what=f"{one}'s connector refused ashore",
        interval=2,
    )
    assert _ashore(fleet, one) == before, f"{one} still wrote ashore after being revoked"
    assert _ashore(fleet, two) == 40
