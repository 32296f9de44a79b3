"""The ``fleet`` command, run as separate processes, controls clusters and fails clearly."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports
from fleetedge.runtime import node as kafka_node
from fleetedge.runtime.cluster import state_path
from fleetedge.runtime.jvm import find_processes
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
