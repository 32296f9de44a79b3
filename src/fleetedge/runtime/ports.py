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
import functools
import ipaddress
import random
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from fleetedge.runtime.leases import port_leases

HOST = "127.0.0.1"
_BASE = 19000


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` stays on this machine (a name other than localhost may
    resolve anywhere, so it does not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


# Ports the demo scheme may hand out (services 18000-18999, clusters 19000-28999).
_DEMO_RANGE = (18000, _BASE + 100 * MAX_SLOT + 99)
_handed: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


@functools.cache
def _allowed() -> tuple[int, ...]:
    """Ports neither the demo scheme nor the kernel's ephemeral range can take.

    A port from the ephemeral range, free when picked, can become some client's local port
    before the server meant for it binds: seen, with twenty clusters starting at once. All are
    below 32768: a link's kernel shaping is named after its first proxy port, in 15 bits
    (fleetedge.link.shaper.ident_for), so that two fleets on one machine never share it.
    """
    low, high = _ephemeral_range()
    taken = (range(low, high + 1), range(_DEMO_RANGE[0], _DEMO_RANGE[1] + 1))
    return tuple(p for p in range(10000, 0x8000) if not any(p in r for r in taken))


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago.

    Never one this process handed out before, nor one another process picked lately (see
    :mod:`fleetedge.runtime.leases`), nor one the kernel gives to outgoing connections, so two
    picks, two test workers or two test runs do not collide.
    """
    found: list[int] = []
    with port_leases() as leases:
        for port in random.sample(_allowed(), len(_allowed())):
            if len(found) == count:
                break
            if port not in _handed and not leases.held(port) and port_is_free(port):
                found.append(port)
        if len(found) < count:
            raise OSError(errno.EADDRINUSE, f"fewer than {count} free ports on {HOST}")
        leases.take(found)
    _handed.update(found)
    return found


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 a moment ago (a role's
    services take their metrics ports in a row from one configured port)."""
    allowed = set(_allowed())

    with port_leases() as leases:

        def usable(port: int) -> bool:
            return (
                port in allowed
                and port not in _handed
                and not leases.held(port)
                and port_is_free(port)
            )

        for first in random.sample(sorted(allowed), len(allowed)):
            run = range(first, first + count)
            if all(usable(p) for p in run):
                leases.take(run)
                _handed.update(run)
                return first
    raise OSError(errno.EADDRINUSE, f"no {count} consecutive free ports on {HOST}")


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
