"""Port allocation: one fixed scheme for the demo, free ports for tests.

Demo scheme (all on 127.0.0.1): cluster *slot* ``s`` (0 = shore, 1..99 = vessel-1..vessel-99)
and node ``k`` (1..9) use ``19000 + 100*s + 10*k + role``, with role 2 = broker listener,
3 = KRaft controller, 4 = the vessel's LINK listener (reached only through the link emulator)
and 5 = the link emulator's end of it, where the shore connects. So the shore's node 1 listens
on 19012/19013 and vessel-2's node 3 on 19232/19233, with its link at 19234 behind 19235.
Ports 18000-18999 are for services (MirrorMaker 2, link emulator, API, metrics); see the README.
"""

from __future__ import annotations

import errno
import re
import socket
from dataclasses import dataclass

HOST = "127.0.0.1"
_BASE = 19000
MAX_SLOT = 99
MAX_NODES = 9


@dataclass(frozen=True)
class NodePorts:
    """The listeners of a combined broker+controller node.

    A vessel node also has ``link``, a listener the shore reaches only through the link
    emulator, which listens on ``proxy`` and forwards to it; Kafka advertises ``proxy`` on it.
    """

    broker: int
    controller: int
    link: int | None = None
    proxy: int | None = None


def demo_ports(slot: int, nodes: int, *, link: bool = False) -> list[NodePorts]:
    """Ports of the demo scheme for cluster ``slot``."""
    if not 0 <= slot <= MAX_SLOT:
        raise ValueError(f"slot must be within 0..{MAX_SLOT}, got {slot}")
    if not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"nodes must be within 1..{MAX_NODES}, got {nodes}")
    base = _BASE + 100 * slot
    return [
        NodePorts(
            base + 10 * k + 2,
            base + 10 * k + 3,
            base + 10 * k + 4 if link else None,
            base + 10 * k + 5 if link else None,
        )
        for k in range(1, nodes + 1)
    ]


def slot_for_name(name: str) -> int | None:
    """The demo slot a cluster name implies: ``shore`` is 0, ``vessel-N`` is N; else None."""
    if name == "shore":
        return 0
    match = re.fullmatch(r"vessel-(\d+)", name)
    if match and 1 <= int(match.group(1)) <= MAX_SLOT:
        return int(match.group(1))
    return None


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago (ask the kernel)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_node_ports(nodes: int, *, link: bool = False) -> list[NodePorts]:
    """Free ports for ``nodes`` nodes, as tests use them."""
    if not link:
        flat = free_ports(2 * nodes)
        return [NodePorts(flat[2 * i], flat[2 * i + 1]) for i in range(nodes)]
    flat = free_ports(4 * nodes)
    return [NodePorts(*flat[4 * i : 4 * i + 4]) for i in range(nodes)]


def port_is_free(port: int) -> bool:
    """True if nothing listens on, or holds, ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Kafka binds with SO_REUSEADDR, so a port left in TIME_WAIT is free for it too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True
