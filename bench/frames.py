"""The emulated link's frame size: the link bench's loopback at a real link's MTU."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

LO_MTU = Path("/sys/class/net/lo/mtu")


@contextlib.contextmanager
def link_frames(mtu: int) -> Iterator[None]:
    """Loopback frames of ``mtu`` bytes while the rig runs, as a satellite modem's link has.

    The emulator's link is traffic control on ``lo``, whose 64 KiB frames make every segment
    the proxy sends up to 64 KiB: 8 s at 64 kbit/s, queued in the sender's own kernel class.
    Its TCP then times out on segments still queued and sends them again, and the copies cross
    too (BENCHMARKS.md: 25-133 kB of a drain). With 1,500-byte frames, segments are the size a
    real link carries, and its queue is no longer a few segments of seconds each. Every loopback
    connection of the machine has these frames meanwhile: run the bench alone."""
    before = int(LO_MTU.read_text())
    subprocess.run(["ip", "link", "set", "dev", "lo", "mtu", str(mtu)], check=True)
    try:
        yield
    finally:
        subprocess.run(["ip", "link", "set", "dev", "lo", "mtu", str(before)], check=True)
