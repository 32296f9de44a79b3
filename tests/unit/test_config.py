from __future__ import annotations

from pathlib import Path

from fleetedge.runtime.config import node_properties, render_properties
from fleetedge.runtime.ports import NodePorts

PORTS = [NodePorts(1002, 1003), NodePorts(2002, 2003), NodePorts(3002, 3003)]


def test_node_is_broker_and_controller_with_a_static_quorum() -> None:
    props = node_properties(2, PORTS, Path("/data/n2"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:1003,2@127.0.0.1:2003,3@127.0.0.1:3003"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:2002,CONTROLLER://127.0.0.1:2003"
    assert props["log.dirs"] == "/data/n2"


def test_three_nodes_replicate_three_times_and_need_two_in_sync() -> None:
    props = node_properties(1, PORTS, Path("/d"))
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["auto.create.topics.enable"] == "false"


def test_a_single_node_cluster_clips_replication() -> None:
    props = node_properties(1, PORTS[:1], Path("/d"))
    assert props["default.replication.factor"] == "1"
    assert props["min.insync.replicas"] == "1"


def test_overrides_win_and_everything_listens_on_loopback() -> None:
    props = node_properties(1, PORTS, Path("/d"), {"log.retention.hours": "1"})
    assert props["log.retention.hours"] == "1"
    assert "0.0.0.0" not in render_properties(props)


def test_render_escapes_backslashes() -> None:
    assert render_properties({"a": r"c:\x"}) == "a=c:\\\\x\n"
