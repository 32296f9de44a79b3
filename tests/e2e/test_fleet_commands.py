"""`fleet status`, `fleet link` and `fleet check` on a running fleet: the clusters stand side by
side, the link answers the CLI (cut, shape, restore), and bad input fails clearly."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, Producer

from fleetedge.runtime.health import create_topic
from fleetedge.security.clients import kafka_config
from tests.support.cli import fleet
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka


def _roundtrip(bootstrap: str, topic: str, value: bytes) -> list[bytes]:
    producer = Producer({**kafka_config(bootstrap), "acks": "all"})
    producer.produce(topic, value)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {**kafka_config(bootstrap), "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        msg = wait_for(lambda: consumer.poll(1.0), 60, f"the record in {topic}")
        return [msg.value()]
    finally:
        consumer.close()


def test_status_shows_every_cluster_and_service(running_fleet: RunningFleet) -> None:
    status = json.loads(running_fleet.fleet("status", "--json"))
    clusters = {c["name"]: c for c in status["clusters"]}
    assert set(clusters) == {*running_fleet.plan.vessels, "shore"}
    assert all(c["healthy"] for c in clusters.values())
    assert len({c["cluster_id"] for c in clusters.values()}) == len(clusters)
    ports = [n[k] for c in clusters.values() for n in c["nodes"]
             for k in ("broker_port", "controller_port")]  # fmt: skip
    assert len(set(ports)) == len(ports)
    assert clusters["shore"]["link_bootstrap_servers"] is None
    assert all(clusters[v]["link_bootstrap_servers"] for v in running_fleet.plan.vessels)
    services = status["supervisor"]["services"]
    assert {s["name"] for s in services} == {s.name for s in running_fleet.plan.services}
    assert all(s["phase"] == "healthy" for s in services)

    # Same topic name on a vessel and ashore: each cluster keeps its own records.
    vessel, shore = clusters[running_fleet.plan.vessels[0]], clusters["shore"]
    for c in (vessel, shore):
        create_topic(c["bootstrap_servers"], "scratch", partitions=1)
    assert _roundtrip(vessel["bootstrap_servers"], "scratch", b"aboard") == [b"aboard"]
    assert _roundtrip(shore["bootstrap_servers"], "scratch", b"ashore") == [b"ashore"]


def test_the_link_answers_the_cli(running_fleet: RunningFleet) -> None:
    vessel = running_fleet.plan.vessels[-1]

    def link_status() -> dict[str, object]:
        (found,) = json.loads(running_fleet.fleet("link", "status", vessel, "--json",
                                                  "--sample", "0"))  # fmt: skip
        return dict(found)

    def fresh() -> bool:
        st = link_status()
        age = st["last_heartbeat_age_s"]
        connectors = st["connectors"]
        assert isinstance(connectors, dict)
        running = connectors and all(state == "RUNNING" for state in connectors.values())
        return bool(running and st["downlink"]) and isinstance(age, float) and age < 15

    wait_for(fresh, 300, "the link up with fresh heartbeats", every=3)
    running_fleet.fleet("link", "cut", vessel)
    assert link_status()["link"] == "cut"
    running_fleet.fleet("link", "shape", vessel, "--kbps", "64", "--latency-ms", "600")
    assert link_status()["shape"] == {"kbps": 64, "latency_ms": 600, "jitter_ms": 0}
    running_fleet.fleet("link", "shape", vessel)
    running_fleet.fleet("link", "restore", vessel)
    assert link_status()["link"] == "up"
    assert link_status()["shape"] == {"kbps": None, "latency_ms": 0, "jitter_ms": 0}


def test_bad_names_fail_clearly(running_fleet: RunningFleet) -> None:
    bad = fleet("link", "cut", "vessel-9", home=running_fleet.home,
                settings=running_fleet.settings)  # fmt: skip
    assert bad.returncode == 1
    assert "no link is recorded for 'vessel-9'" in bad.stderr
    bad = fleet("chaos", "kill-service", "nothing", home=running_fleet.home,
                settings=running_fleet.settings)  # fmt: skip
    assert bad.returncode == 1
    assert "no service named 'nothing'" in bad.stderr
    bad = fleet("chaos", "kill-broker", "vessel-1", "7", home=running_fleet.home,
                settings=running_fleet.settings)  # fmt: skip
    assert bad.returncode == 1
    assert "vessel-1 has no node 7" in bad.stderr
