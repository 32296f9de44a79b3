"""Link bandwidth with Linux traffic control: one HTB class per vessel and direction on ``lo``.

Toxiproxy limits bandwidth per connection, but a satellite link is one pipe shared by every
connection across it, so the rate is shaped by the kernel instead. Packets leaving the
emulator's proxy ports (vessel to shore) go through the vessel's uplink class; packets to those
ports (shore to vessel) through its downlink class. Unclassified loopback traffic is untouched.
Needs CAP_NET_ADMIN (root), as ``tc`` does.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from fleetedge.link.exceptions import LinkToolError

DEVICE = "lo"
ROOT = "1:"
# The root qdisc is shared by every fleet on the machine: one adds it while another, whose
# classes were the last, removes it. Their changes to it take turns under this lock.
LOCK = Path(tempfile.gettempdir()) / "fleetedge-link-shaper.lock"


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    with LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tc(*args: str, check: bool = True) -> str:
    tc = shutil.which("tc") or "/usr/sbin/tc"
    done = subprocess.run([tc, *args], capture_output=True, text=True, timeout=10, check=False)
    if check and done.returncode != 0:
        raise LinkToolError(
            f"`tc {' '.join(args)}` failed: {done.stderr.strip()}",
            hint="shaping the link needs iproute2's tc and CAP_NET_ADMIN (run as root)",
        )
    return done.stdout


MAX_IDENT = 0x7FFF  # two classes per link, minor ids 2*ident and 2*ident+1, in 16 bits


def ident_for(proxy_port: int) -> int:
    """A link's ident, from its first proxy port: ``lo``'s classes and filters are the whole
    machine's, and a port is unique on it while the proxy holds it, so links of two fleets
    (a demo beside the tests, or tests side by side) never shape or clear each other's.
    FleetEdge's ports are below 32768; a higher one is folded down, unique no more."""
    if not 1 <= proxy_port <= 0xFFFF:
        raise ValueError(f"not a port: {proxy_port}")
    return proxy_port if proxy_port <= MAX_IDENT else proxy_port - MAX_IDENT


class LinkShaper:
    """The rate of one vessel's link. ``ident`` (1..32767) must be unique among live links."""

    def __init__(self, ident: int, proxy_ports: Sequence[int]) -> None:
        if not 1 <= ident <= MAX_IDENT:
            raise ValueError(f"shaper ident must be within 1..32767, got {ident}")
        self.ident = ident
        self.ports = tuple(proxy_ports)

    @property
    def _classes(self) -> tuple[str, str]:
        # Minor ids are hex in tc syntax; uplink 2*ident, downlink 2*ident + 1.
        return f"1:{2 * self.ident:x}", f"1:{2 * self.ident + 1:x}"

    @property
    def _prio(self) -> str:
        return str(self.ident)

    def apply(self, kbps: int) -> None:
        """Limit each direction of the link to ``kbps`` kilobits per second."""
        if kbps <= 0:
            raise ValueError("kbps must be positive")
        with _machine_lock():
            self._apply(kbps)

    def _apply(self, kbps: int) -> None:
        if "htb 1: root" not in _tc("qdisc", "show", "dev", DEVICE):
            # No default class: traffic no filter claims passes unshaped.
            _tc("qdisc", "replace", "dev", DEVICE, "root", "handle", ROOT, "htb")
        rate = f"{kbps}kbit"
        for classid in self._classes:
            _tc("class", "replace", "dev", DEVICE, "parent", ROOT, "classid", classid,
                "htb", "rate", rate, "ceil", rate, "quantum", "1514")  # fmt: skip
        self._clear_filters()
        up, down = self._classes
        for port in self.ports:
            for direction, classid in (("sport", up), ("dport", down)):
                _tc("filter", "add", "dev", DEVICE, "parent", ROOT, "protocol", "ip",
                    "prio", self._prio, "u32", "match", "ip", direction, str(port), "0xffff",
                    "flowid", classid)  # fmt: skip

    def clear(self) -> None:
        """Remove this link's limit (other links' classes stay)."""
        with _machine_lock():
            self._clear()

    def _clear(self) -> None:
        self._clear_filters()
        for classid in self._classes:
            _tc("class", "del", "dev", DEVICE, "classid", classid, check=False)
        if not _tc("class", "show", "dev", DEVICE, check=False).strip():
            _tc("qdisc", "del", "dev", DEVICE, "root", check=False)

    def rate_kbps(self) -> int | None:
        """The uplink rate now applied, or None when the link is not shaped."""
        up, _ = self._classes
        for line in _tc("class", "show", "dev", DEVICE, check=False).splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2] == up and "rate" in fields:
                return _parse_kbit(fields[fields.index("rate") + 1])
        return None

    def sent_bytes(self) -> tuple[int, int]:
        """Bytes the (uplink, downlink) classes have sent since shaping began: link traffic."""
        found: dict[str, int] = {}
        lines = _tc("-s", "class", "show", "dev", DEVICE, check=False).splitlines()
        for i, line in enumerate(lines):
            fields = line.split()
            if len(fields) > 2 and fields[2] in self._classes and i + 1 < len(lines):
                sent = lines[i + 1].split()
                if len(sent) > 1 and sent[0] == "Sent":
                    found[fields[2]] = int(sent[1])
        up, down = self._classes
        return found.get(up, 0), found.get(down, 0)

    def queued_bytes(self) -> tuple[int, int]:
        """Bytes waiting in the (uplink, downlink) classes' queues: sent, not yet on the link."""
        found: dict[str, int] = {}
        current = ""
        for line in _tc("-s", "class", "show", "dev", DEVICE, check=False).splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[0] == "class":
                current = fields[2]
            elif fields and fields[0] == "backlog" and current in self._classes:
                found[current] = _parse_bytes(fields[1])
        up, down = self._classes
        return found.get(up, 0), found.get(down, 0)

    def _clear_filters(self) -> None:
        _tc("filter", "del", "dev", DEVICE, "parent", ROOT, "prio", self._prio, check=False)


def _parse_kbit(text: str) -> int:
    units = {"bit": 1e-3, "Kbit": 1, "kbit": 1, "Mbit": 1e3, "mbit": 1e3, "Gbit": 1e6}
    for suffix, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return round(float(text[: -len(suffix)]) * factor)
    return round(float(text) / 1000)


def _parse_bytes(text: str) -> int:
    """tc's backlog size: ``0b``, ``1514b``, ``12Kb``, ``3Mb``."""
    units = {"Kb": 1024, "Mb": 1024 * 1024, "b": 1}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return round(float(text[: -len(suffix)]) * factor)
    return int(text)
