"""The ``fleet`` command, run as separate processes, controls clusters and fails clearly."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports
from fleetedge.runtime import node as kafka_node
from fleetedge.runtime.cluster import state_path
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.jvm import find_processes
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.support.cli import fleet, fleet_json

pytestmark = pytest.mark.kafka


def _node(status: dict[str, object], node_id: int) -> dict[str, object]:
    nodes = status["nodes"]
    assert isinstance(nodes, list)
    return next(n for n in nodes if n["id"] == node_id)


def test_cluster_commands_control_a_cluster_from_separate_processes(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    home = tmp_path / "home"
    try:
        started = fleet_json("cluster", "up", "ops", "--free-ports", home=home, settings=settings)
        assert started["healthy"] is True
        assert [n["alive"] for n in started["nodes"]] == [True, True, True]
        pid2 = _node(started, 2)["pid"]

        # Another process finds the cluster through its recorded state.
        status = fleet_json("cluster", "status", "ops", home=home, settings=settings)
        assert status["cluster_id"] == started["cluster_id"]
        assert status["quorum_leader"] in {1, 2, 3}
        assert status["under_replicated"] == []

        assert (
            fleet("cluster", "kill", "ops", "--node", "2", home=home, settings=settings).returncode
            == 0
        )
        after_kill = fleet_json("cluster", "status", "ops", home=home, settings=settings)
        assert _node(after_kill, 2)["alive"] is False
        assert not any(pid == pid2 for pid in find_processes(home))

        assert (
            fleet("cluster", "start", "ops", "--node", "2", home=home, settings=settings).returncode
            == 0
        )
        assert (
            fleet("cluster", "stop", "ops", "--node", "3", home=home, settings=settings).returncode
            == 0
        )
        stopped = fleet_json("cluster", "status", "ops", home=home, settings=settings)
        assert _node(stopped, 2)["alive"] is True
        assert _node(stopped, 3)["alive"] is False

        table = fleet("cluster", "status", "ops", home=home, settings=settings)
        assert "quorum leader" in table.stdout
        assert "stopped" in table.stdout
    finally:
        done = fleet("cluster", "down", "ops", "--purge", home=home, settings=settings)
    assert done.returncode == 0, done.stderr
    assert find_processes(home) == []
    assert not state_path(home, "ops").exists()


def _roundtrip(bootstrap: str, topic: str, payload: bytes) -> list[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    producer.produce(topic, payload)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        got: list[bytes] = []
        for _ in range(30):
            got += [m.value() for m in consumer.consume(10, timeout=1.0) if not m.error()]
            if got:
                break
        return got
    finally:
        consumer.close()


def test_fleet_up_runs_a_vessel_the_shore_and_the_link_between_them(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    home = tmp_path / "home"
    try:
        statuses = fleet_json("up", "--free-ports", "--detach", home=home, settings=settings)
        by_name = {s["name"]: s for s in statuses}
        assert set(by_name) == {"vessel-1", "shore"}
        vessel, shore = by_name["vessel-1"], by_name["shore"]
        assert vessel["healthy"]
        assert shore["healthy"]
        assert vessel["cluster_id"] != shore["cluster_id"]
        ports = [n["broker_port"] for s in statuses for n in s["nodes"]]
        ports += [n["controller_port"] for s in statuses for n in s["nodes"]]
        ports += [n["link_port"] for n in vessel["nodes"]] + [
            n["proxy_port"] for n in vessel["nodes"]
        ]
        assert len(set(ports)) == 18
        assert vessel["directory"] != shore["directory"]
        assert vessel["link_bootstrap_servers"]
        assert shore["link_bootstrap_servers"] is None

        # Same topic name on both: each cluster keeps its own records.
        for status in statuses:
            create_topic(status["bootstrap_servers"], "scratch", partitions=1)
        assert _roundtrip(vessel["bootstrap_servers"], "scratch", b"from the vessel") == [
            b"from the vessel"
        ]
        assert _roundtrip(shore["bootstrap_servers"], "scratch", b"ashore") == [b"ashore"]

        # The detached link supervisor runs both MirrorMaker 2 flows; heartbeats come ashore.
        def link_status() -> dict[str, Any]:
            found = fleet_json(
                "link", "status", "--json", "--sample", "0", home=home, settings=settings
            )
            assert isinstance(found, list)
            return dict(found[0])

        def healthy() -> bool:
            st = link_status()
            age = st["last_heartbeat_age_s"]
            return all(st["mirrormaker"].values()) and age is not None and age < 15

        wait_until(healthy, timeout=240, what="the link up with fresh heartbeats", interval=3)
        assert len(find_processes(home)) == 9  # six brokers, three MirrorMaker 2

        assert fleet("link", "cut", "vessel-1", home=home, settings=settings).returncode == 0
        assert link_status()["link"] == "cut"
        shaped = fleet(
            "link", "shape", "vessel-1", "--kbps", "64", "--latency-ms", "600",
            home=home, settings=settings,
        )  # fmt: skip
        assert shaped.returncode == 0, shaped.stderr
        assert link_status()["shape"] == {"kbps": 64, "latency_ms": 600, "jitter_ms": 0}
        assert fleet("link", "restore", "vessel-1", home=home, settings=settings).returncode == 0
        assert link_status()["link"] == "up"
        bad = fleet("link", "cut", "vessel-9", home=home, settings=settings)
        assert bad.returncode == 1
        assert "no link is recorded for 'vessel-9'" in bad.stderr
    finally:
        done = fleet("down", "--purge", home=home, settings=settings)
    assert done.returncode == 0, done.stderr
    assert find_processes(home) == []
    assert find_processes(home) == []


# -- bad input: a clear message, and nothing left running ------------------------------------


def test_up_with_a_port_in_use_fails_clearly_and_starts_nothing(
    tmp_path: Path, settings: RuntimeSettings, runtime: KafkaRuntime
) -> None:
    home = tmp_path / "home"
    ports = free_node_ports(3)
    KafkaCluster.create("busy", home=home, runtime=runtime, ports=ports)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[1].broker))
        squatter.listen()
        done = fleet("cluster", "up", "busy", home=home, settings=settings)
    assert done.returncode == 1
    assert f"broker port 127.0.0.1:{ports[1].broker} is already in use" in done.stderr
    assert "node 2" in done.stderr
    assert find_processes(home) == []


def test_up_without_java_fails_clearly_and_records_nothing(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    home = tmp_path / "home"
    env = {"PATH": str(tmp_path / "empty-bin"), "JAVA_HOME": ""}
    done = fleet("cluster", "up", "nojava", "--free-ports", home=home, settings=settings, env=env)
    assert done.returncode == 1
    assert "Java was not found" in done.stderr
    assert "install Java 17+" in done.stderr
    assert not state_path(home, "nojava").exists()

    done = fleet("runtime", "doctor", home=home, settings=settings, env=env)
    assert done.returncode == 1
    assert "FAIL java" in done.stdout


def test_up_with_a_wrong_java_version_fails_clearly(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    done = fleet(
        "cluster",
        "up",
        "oldjava",
        "--free-ports",
        home=tmp_path / "home",
        settings=settings,
        env={"FLEET_JAVA": str(fake)},
    )
    assert done.returncode == 1
    assert "is version 11; Kafka 4 brokers need 17+" in done.stderr


def test_up_on_a_corrupt_meta_properties_fails_clearly_and_starts_nothing(
    tmp_path: Path, settings: RuntimeSettings, runtime: KafkaRuntime
) -> None:
    home = tmp_path / "home"
    cluster = KafkaCluster.create("corrupt", home=home, runtime=runtime, ports=free_node_ports(3))
    kafka_node.format_storage(runtime, cluster.state, cluster.node_ids)
    meta = kafka_node.data_dir(cluster.state, 3) / "meta.properties"
    meta.write_bytes(b"\x89\xfe\x00 not a properties file \xff")

    done = fleet("cluster", "up", "corrupt", home=home, settings=settings)
    assert done.returncode == 1
    assert f"{meta} is corrupt" in done.stderr
    assert "node 3" in done.stderr
    assert find_processes(home) == []


def test_up_on_another_clusters_data_dir_is_refused(
    tmp_path: Path, settings: RuntimeSettings, runtime: KafkaRuntime
) -> None:
    home = tmp_path / "home"
    cluster = KafkaCluster.create("mixed", home=home, runtime=runtime, ports=free_node_ports(3))
    kafka_node.format_storage(runtime, cluster.state, cluster.node_ids)
    meta = kafka_node.data_dir(cluster.state, 1) / "meta.properties"
    meta.write_text(meta.read_text().replace(cluster.state.cluster_id, "AAAAAAAAAAAAAAAAAAAAAA"))

    done = fleet("cluster", "up", "mixed", home=home, settings=settings)
    assert done.returncode == 1
    assert "belongs to cluster AAAAAAAAAAAAAAAAAAAAAA" in done.stderr
    assert find_processes(home) == []


def test_a_node_kafka_refuses_to_start_is_reported_with_its_log_and_the_others_are_stopped(
    tmp_path: Path, settings: RuntimeSettings, runtime: KafkaRuntime
) -> None:
    home = tmp_path / "home"
    cluster = KafkaCluster.create("broken", home=home, runtime=runtime, ports=free_node_ports(3))
    kafka_node.format_storage(runtime, cluster.state, cluster.node_ids)
    (kafka_node.data_dir(cluster.state, 2) / "bootstrap.checkpoint").write_bytes(
        b"\x00garbage" * 16
    )

    done = fleet("cluster", "up", "broken", home=home, settings=settings)
    assert done.returncode == 1
    assert "the node process exited during start-up" in done.stderr
    assert "node 2" in done.stderr
    assert "bootstrap.checkpoint" in done.stderr  # Kafka's own words, from the node's log
    assert find_processes(home) == []


def test_fetch_is_idempotent_and_needs_no_maven_once_cached(
    tmp_path: Path, settings: RuntimeSettings
) -> None:
    no_maven = {"PATH": str(Path(sys.executable).parent)}  # python only: no mvn, no java
    done = fleet("runtime", "fetch", home=tmp_path, settings=settings, env=no_maven)
    assert done.returncode == 0, done.stderr
    assert "already cached" in done.stdout
    doctor = fleet("runtime", "doctor", "--json", home=tmp_path, settings=settings)
    assert doctor.returncode == 0, doctor.stdout
    assert all(check["ok"] for check in json.loads(doctor.stdout).values())
