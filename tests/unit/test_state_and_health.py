from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetedge.runtime.exceptions import DataDirError
from fleetedge.runtime.health import QuorumView, quorum_leader, read_quorum_state
from fleetedge.runtime.node import is_formatted
from fleetedge.runtime.state import ClusterState, NodeState, new_cluster_id


def _state(tmp_path: Path) -> ClusterState:
    return ClusterState(
        name="v1",
        kafka_version="4.3.1",
        directory=tmp_path,
        nodes=[NodeState(id=i, broker_port=1000 + i, controller_port=2000 + i) for i in (1, 2, 3)],
    )


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_state_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.node(2).pid = 4242
    state.save(tmp_path / "cluster.json")
    loaded = ClusterState.load(tmp_path / "cluster.json")
    assert loaded == state
    assert loaded.bootstrap_servers == "127.0.0.1:1001,127.0.0.1:1002,127.0.0.1:1003"
    with pytest.raises(KeyError, match="no node 7"):
        loaded.node(7)


def test_quorum_leader_is_the_newest_epochs_live_leader() -> None:
    views = [QuorumView(1, 1, 3), QuorumView(2, 2, 4), QuorumView(3, 2, 4)]
    assert quorum_leader(views, {1, 2, 3}) == (2, 4)
    # The leader of the newest epoch is dead: no leader until a new election is seen.
    assert quorum_leader(views, {1, 3}) == (None, 4)
    # A dead node's stale file does not count.
    assert quorum_leader([QuorumView(1, 1, 9), QuorumView(2, 2, 4)], {2, 3}) == (2, 4)
    assert quorum_leader([QuorumView(2, None, 5)], {2}) == (None, 5)
    assert quorum_leader([], {1}) == (None, -1)


def test_quorum_state_file_is_read(tmp_path: Path) -> None:
    qdir = tmp_path / "__cluster_metadata-0"
    qdir.mkdir()
    (qdir / "quorum-state").write_text(json.dumps({"leaderId": 3, "leaderEpoch": 7}))
    assert read_quorum_state(tmp_path, 1) == QuorumView(1, 3, 7)
    (qdir / "quorum-state").write_text("{not json")
    assert read_quorum_state(tmp_path, 1) is None


def test_data_dir_checks(tmp_path: Path) -> None:
    state = _state(tmp_path)
    data = tmp_path / "node-1" / "data"
    assert is_formatted(state, 1) is False  # nothing there yet
    data.mkdir(parents=True)
    (data / "stray.log").write_text("x")
    with pytest.raises(DataDirError, match=r"holds data but no meta\.properties"):
        is_formatted(state, 1)
    (data / "meta.properties").write_text(f"cluster.id={state.cluster_id}\nnode.id=1\nversion=1\n")
    assert is_formatted(state, 1) is True
    (data / "meta.properties").write_text(f"cluster.id={state.cluster_id}\nnode.id=2\n")
    with pytest.raises(DataDirError, match="belongs to cluster"):
        is_formatted(state, 1)
    (data / "meta.properties").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataDirError, match="is corrupt"):
        is_formatted(state, 1)
