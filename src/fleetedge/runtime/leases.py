"""Port leases shared by every process of this user on this machine.

A free port is only free until something binds it, and a port picked for a cluster may wait
minutes for its server: a vessel's proxy port is bound only when the link emulator attaches the
vessel. Another process picking in that gap (another test worker, a ``fleet`` command, another
test run) took the same port once, and the proxy then could not bind. So each pick is recorded
as a file named after the port in one directory, under a lock; a pick skips ports leased less
than ``LEASE_SECONDS`` ago. A lease is only a promise between pickers: a port that something
listens on is not free anyway, so a lease need only outlast the gap.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

LEASE_DIR_ENV = "FLEETEDGE_PORT_LEASES"
LEASE_SECONDS = 1800.0
_LOCK = ".lock"


def lease_dir() -> Path:
    """Where leases live: ``$FLEETEDGE_PORT_LEASES``, else one directory per user in /tmp."""
    configured = os.environ.get(LEASE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"fleetedge-ports-{os.getuid()}"


class Leases:
    """The ports leased now; valid only inside :func:`port_leases`, which holds the lock."""

    def __init__(self, directory: Path, now: float) -> None:
        self._directory = directory
        self._held: set[int] = set()
        for entry in os.scandir(directory):
            if not entry.name.isdigit():
                continue
            try:
                age = now - entry.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < LEASE_SECONDS:
                self._held.add(int(entry.name))
            else:  # expired: forget it, so the directory stays small
                Path(entry.path).unlink(missing_ok=True)

    def held(self, port: int) -> bool:
        return port in self._held

    def take(self, ports: Iterable[int]) -> None:
        for port in ports:
            (self._directory / str(port)).touch()
            self._held.add(port)


@contextmanager
def port_leases() -> Iterator[Leases]:
    """The current leases, with every other picker waiting until this block ends."""
    directory = lease_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (directory / _LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield Leases(directory, time.time())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
