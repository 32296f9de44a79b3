"""Real devices over MQTT: good readings reach Kafka once, bad ones are dead-lettered with the
reason, and what devices publish while the bridge is down arrives when it returns."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.events import BINARY, JSON, DeadLetter, ReadingValidator, ReeferReading, decode
from fleetedge.ingest import MqttBridge, device_topic
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until
from tests.support.mosquitto import mosquitto
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
VESSEL = "vessel-3"


@pytest.fixture(scope="module")
def mqtt_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with mosquitto(tmp_path_factory.mktemp("mosquitto")) as port:
        yield port


class Device:
    """A publisher standing in for the reefers' telematics units (QoS 1)."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:6]}"
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _readings(ticks: int) -> tuple[VesselSimulator, list[ReeferReading]]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    sim = VesselSimulator(VESSEL, 5, seed=9, start=start, rates=FaultRates.none())
    return sim, [r for _ in range(ticks) for r in sim.next_readings()]


def _bridge(
    cluster: KafkaCluster, port: int, sim: VesselSimulator, topics: tuple[str, str], client_id: str
) -> MqttBridge:
    return MqttBridge(
        vessel_id=VESSEL,
        validator=ReadingValidator(VESSEL, sim.container_ids),
        bootstrap=cluster.bootstrap_servers,
        mqtt_port=port,
        client_id=client_id,
        telemetry_topic=topics[0],
        dlq_topic=topics[1],
    )


def _settle(bridge: MqttBridge, accepted: int, rejected: int) -> None:
    def done() -> bool:
        bridge.poll(0.1)
        return (
            bridge.accepted == accepted
            and bridge.rejected == rejected
            and bridge.unacknowledged == 0
        )

    wait_until(
        done, timeout=60, what=f"{accepted} forwarded and {rejected} dead-lettered", interval=0
    )


def _topics(cluster: KafkaCluster, name: str) -> tuple[str, str]:
    telemetry, dlq = f"{name}.telemetry", f"{name}.dlq"
    create_topic(cluster.bootstrap_servers, telemetry, partitions=3)
    create_topic(cluster.bootstrap_servers, dlq, partitions=1)
    return telemetry, dlq


def test_good_readings_are_forwarded_once_and_bad_ones_dead_lettered_with_the_reason(
    cluster: KafkaCluster, mqtt_port: int, topic_name: str
) -> None:
    topics = _topics(cluster, topic_name)
    sim, good = _readings(10)

    def as_json(reading: ReeferReading, **changes: object) -> bytes:
        document = json.loads(JSON.encode(reading))
        document.update(changes)
        return json.dumps(document).encode()  # Python writes NaN as devices with bugs do

    first = good[0]
    bad = {
        "finite number": (first.container_id, as_json(first, supply_air_c=float("nan"))),
        "less than or equal to 100": (first.container_id, as_json(first, humidity_pct=300)),
        "not on vessel-3's reefer manifest": (
            "FEXU9999999",
            as_json(first, container_id="FEXU9999999"),
        ),
        "not msgpack": (first.container_id, b"\x00\x01garbage"),
        "published on": (good[2].container_id, JSON.encode(good[1])),
    }
    device = Device(mqtt_port)
    bridge = _bridge(cluster, mqtt_port, sim, topics, f"ingest-{uuid.uuid4().hex[:6]}")
    with bridge:
        for i, reading in enumerate(good):
            codec = JSON if i % 2 else BINARY
            device.publish(device_topic(VESSEL, reading.container_id), codec.encode(reading))
        for container, payload in bad.values():
            device.publish(device_topic(VESSEL, container), payload)
        _settle(bridge, accepted=50, rejected=5)
    device.close()
    assert bridge.delivery_errors == []

    forwarded = [decode(m.value()) for m in read_topic(cluster.bootstrap_servers, topics[0])]
    assert sorted((r.source, r.seq) for r in forwarded) == sorted((r.source, r.seq) for r in good)

    letters = read_topic(cluster.bootstrap_servers, topics[1])
    assert len(letters) == 5
    reasons = {dict(m.headers())["reason"].decode(): decode(m.value()) for m in letters}
    for expected, (_container, payload) in bad.items():
        reason = next(r for r in reasons if expected in r)
        letter = reasons[reason]
        assert isinstance(letter, DeadLetter)
        assert letter.payload == payload  # kept whole, replayable once fixed
        assert letter.reason == reason
    assert sorted(letter.seq for letter in reasons.values()) == [1, 2, 3, 4, 5]


def test_readings_published_while_the_bridge_is_down_arrive_when_it_returns(
    cluster: KafkaCluster, mqtt_port: int, topic_name: str
) -> None:
    topics = _topics(cluster, topic_name)
    sim, readings = _readings(4)
    client_id = f"ingest-{uuid.uuid4().hex[:6]}"
    first = _bridge(cluster, mqtt_port, sim, topics, client_id)
    first.start()  # creates the persistent session and its subscription
    first.stop()

    device = Device(mqtt_port)
    for reading in readings:
        device.publish(device_topic(VESSEL, reading.container_id), JSON.encode(reading))
    device.close()

    second = _bridge(cluster, mqtt_port, sim, topics, client_id)
    with second:
        _settle(second, accepted=len(readings), rejected=0)
    forwarded = [decode(m.value()) for m in read_topic(cluster.bootstrap_servers, topics[0])]
    assert sorted((r.source, r.seq) for r in forwarded) == sorted(
        (r.source, r.seq) for r in readings
    )
