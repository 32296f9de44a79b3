from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetedge.runtime import ports
from fleetedge.runtime.leases import LEASE_DIR_ENV, LEASE_SECONDS
from fleetedge.runtime.ports import (
    NodePorts,
    demo_ports,
    free_node_ports,
    free_port_run,
    free_ports,
    port_is_free,
    slot_for_name,
)


def test_demo_scheme_gives_each_cluster_and_node_its_own_ports() -> None:
    assert demo_ports(0, 3) == [
        NodePorts(19012, 19013),
        NodePorts(19022, 19023),
        NodePorts(19032, 19033),
    ]
    assert demo_ports(2, 3)[2] == NodePorts(19232, 19233)
    every = [
        p for slot in range(100) for n in demo_ports(slot, 9) for p in (n.broker, n.controller)
    ]
    assert len(every) == len(set(every))
    assert max(every) < 65536


@pytest.mark.parametrize(("slot", "nodes"), [(-1, 3), (100, 3), (1, 0), (1, 10)])
def test_demo_scheme_rejects_out_of_range(slot: int, nodes: int) -> None:
    with pytest.raises(ValueError, match="must be within"):
        demo_ports(slot, nodes)


@pytest.mark.parametrize(
    ("name", "slot"),
    [("shore", 0), ("vessel-1", 1), ("vessel-42", 42), ("vessel-0", None), ("ship", None)],
)
def test_slot_follows_the_cluster_name(name: str, slot: int | None) -> None:
    assert slot_for_name(name) == slot


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_node_ports(3)
    flat = [p for n in ports for p in (n.broker, n.controller)]
    assert len(set(flat)) == 6
    assert all(port_is_free(p) for p in flat)


def test_a_listening_port_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_is_free(sock.getsockname()[1])


def test_free_ports_stay_clear_of_outgoing_connections_and_the_demo() -> None:
    text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
    low, high = (int(x) for x in text.split())
    picked = free_ports(200)
    # An outgoing connection's local port never lands on one, and the demo never binds one.
    assert not [p for p in picked if low <= p <= high or 18000 <= p <= 28999]
    # A later pick in the same process never hands one out again.
    assert not set(picked) & set(free_ports(200))


# -- leases between processes ---------------------------------------------------------------

_PICK = (
    "import sys; from fleetedge.runtime.ports import free_ports; "
    "print(*free_ports(int(sys.argv[1])))"
)


def _pick_elsewhere(count: int, leases: Path) -> subprocess.Popen[str]:
    """Another process picking ``count`` ports and leasing them in ``leases``."""
    env = {**os.environ, LEASE_DIR_ENV: str(leases)}
    return subprocess.Popen(
        [sys.executable, "-c", _PICK, str(count)], env=env, stdout=subprocess.PIPE, text=True
    )


def _ports_of(proc: subprocess.Popen[str]) -> list[int]:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return [int(p) for p in out.split()]


def test_a_port_another_process_picked_is_not_picked_again_until_its_lease_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leases = tmp_path / "leases"
    monkeypatch.setenv(LEASE_DIR_ENV, str(leases))
    # The other process has exited and bound nothing: its ports are free, but promised.
    theirs = _ports_of(_pick_elsewhere(40, leases))
    assert all(port_is_free(p) for p in theirs)
    monkeypatch.setattr(ports, "_allowed", lambda: tuple(theirs))
    monkeypatch.setattr(ports, "_handed", set())  # this process's earlier picks are not theirs
    with pytest.raises(OSError, match="fewer than 1 free ports"):
        free_ports(1)
    with pytest.raises(OSError, match="no 1 consecutive free ports"):
        free_port_run(1)

    long_ago = time.time() - LEASE_SECONDS - 1
    for port in theirs:
        os.utime(leases / str(port), (long_ago, long_ago))
    assert sorted(free_ports(40)) == sorted(theirs)


def test_processes_picking_at_once_never_share_a_port(tmp_path: Path) -> None:
    leases = tmp_path / "leases"
    pickers = [_pick_elsewhere(500, leases) for _ in range(4)]
    picked = [p for proc in pickers for p in _ports_of(proc)]
    # 2,000 random picks from about 11,000 ports would share dozens without the leases.
    assert len(picked) == 2000
    assert len(set(picked)) == 2000
