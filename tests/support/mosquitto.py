"""A real Mosquitto broker on a free loopback port, for the ingest tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def mosquitto(workdir: Path) -> Iterator[int]:
    """Run mosquitto (Debian's package, installed by scripts/bootstrap.sh); yield its port."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise RuntimeError("mosquitto is not installed: run `make test` (it installs it)")
    port = free_ports(1)[0]
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nlog_dest stderr\n"
    )
    with (workdir / "mosquitto.log").open("wb") as log:
        proc = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: _listening(port) or proc.poll() is not None, timeout=20, what="mosquitto"
        )
        if proc.poll() is not None:
            raise RuntimeError((workdir / "mosquitto.log").read_text())
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
