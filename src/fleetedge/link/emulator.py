"""The emulated satellite link between each vessel and the shore.

One Toxiproxy server per fleet home holds a proxy per vessel broker: the shore reaches vessel
node ``k`` only at its proxy port, which forwards to the node's LINK listener. Cutting the link
disables the vessel's proxies (open connections close, new ones are refused); latency and
jitter are Toxiproxy toxics on both directions; bandwidth is one kernel HTB class per direction
(:mod:`fleetedge.link.shaper`), shared by every connection, as on a real link.

The state (API port, server pid, proxies, shaping) lives in ``<home>/link/emulator.json`` so any
``fleet`` process can control a running link.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fleetedge.link.exceptions import LinkNotFoundError, LinkToolError
from fleetedge.link.shaper import LinkShaper, ident_for
from fleetedge.link.toxiproxy import ToxiproxyClient, server_alive, spawn_server
from fleetedge.runtime.jvm import send_signal, wait_gone
from fleetedge.runtime.ports import HOST
from fleetedge.runtime.waiting import wait_until

STATE_FILE = "emulator.json"
CONFIG_FILE = "toxiproxy.json"


class Shape(BaseModel):
    """What the link is shaped to; ``latency_ms`` is the added round trip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kbps: int | None = None
    latency_ms: int = 0
    jitter_ms: int = 0


class ProxyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    listen: int
    upstream: int


class VesselLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ident: int
    proxies: list[ProxyRecord]
    shape: Shape = Field(default_factory=Shape)

    @property
    def proxy_ports(self) -> list[int]:
        return [p.listen for p in self.proxies]


class EmulatorState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_port: int
    pid: int | None = None
    vessels: dict[str, VesselLink] = Field(default_factory=dict)


class LinkEmulator:
    """Control of every vessel's emulated link, from any process."""

    def __init__(self, directory: Path, binary: Path, api_port: int) -> None:
        self.directory = directory
        self.binary = binary
        self._lock = threading.Lock()
        path = directory / STATE_FILE
        self.state = (
            EmulatorState.model_validate_json(path.read_text())
            if path.exists()
            else EmulatorState(api_port=api_port)
        )
        self.client = ToxiproxyClient(self.state.api_port)
        self._child: subprocess.Popen[bytes] | None = None

    # -- the server ----------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    def running(self) -> bool:
        return server_alive(self.state.pid, self.config_path)

    def start(self, timeout: float = 30.0) -> None:
        """Start the Toxiproxy server unless it runs; it recreates every recorded proxy."""
        if self.running() and self.client.ping():
            return
        self._write_config()
        proc = spawn_server(
            self.binary, self.state.api_port, self.config_path, self.directory / "toxiproxy.log"
        )
        self._child = proc  # kept, and reaped on stop, when this process started it
        self.state.pid = proc.pid
        self._save()

        def up() -> bool:
            if proc.poll() is not None:
                raise LinkToolError(
                    f"toxiproxy exited with code {proc.returncode}; see "
                    f"{self.directory / 'toxiproxy.log'}"
                )
            return self.client.ping()

        wait_until(up, timeout=timeout, what="the toxiproxy API")
        for vessel, link in self.state.vessels.items():
            if link.shape != Shape():
                self.shape(vessel, link.shape)

    def stop(self) -> None:
        """Stop the server and lift every vessel's rate limit."""
        for link in self.state.vessels.values():
            LinkShaper(link.ident, link.proxy_ports).clear()
        if self.running() and self.state.pid is not None:
            send_signal(self.state.pid, signal.SIGTERM)
            if not wait_gone(self.state.pid, 10):
                send_signal(self.state.pid, signal.SIGKILL)
                wait_gone(self.state.pid, 10)
        if self._child is not None:
            self._child.wait(timeout=10)
            self._child = None
        self.state.pid = None
        self._save()

    # -- vessels -------------------------------------------------------------------------------

    def attach(self, vessel: str, routes: Sequence[tuple[int, int]]) -> None:
        """Put ``vessel`` behind the link: ``routes`` are (proxy port, LINK listener port)."""
        proxies = [
            ProxyRecord(name=f"{vessel}-node-{i}", listen=proxy, upstream=link)
            for i, (proxy, link) in enumerate(routes, start=1)
        ]
        existing = self.state.vessels.get(vessel)
        if existing is not None and existing.proxies == proxies:
            return
        ident = ident_for(proxies[0].listen)
        if existing is not None and existing.ident != ident:  # moved ports: lift the old limit
            LinkShaper(existing.ident, existing.proxy_ports).clear()
        self.state.vessels[vessel] = VesselLink(ident=ident, proxies=proxies)
        self._save()
        known = self.client.proxies()
        for proxy in proxies:
            if proxy.name in known:
                self.client.delete(proxy.name)
            self.client.create(proxy.name, f"{HOST}:{proxy.listen}", f"{HOST}:{proxy.upstream}")

    def link(self, vessel: str) -> VesselLink:
        try:
            return self.state.vessels[vessel]
        except KeyError:
            known = ", ".join(sorted(self.state.vessels)) or "none"
            raise LinkNotFoundError(
                f"no link is recorded for {vessel!r} (links: {known})",
                hint="`fleet up` puts every vessel behind the link emulator",
            ) from None

    def vessels(self) -> list[str]:
        return sorted(self.state.vessels)

    def cut(self, vessel: str) -> None:
        """Cut the vessel off: open connections close, new ones are refused."""
        for proxy in self.link(vessel).proxies:
            self.client.set_enabled(proxy.name, False)

    def restore(self, vessel: str) -> None:
        for proxy in self.link(vessel).proxies:
            self.client.set_enabled(proxy.name, True)

    def is_cut(self, vessel: str) -> bool:
        known = self.client.proxies()
        return not all(known.get(p.name, {}).get("enabled") for p in self.link(vessel).proxies)

    def flap(self, vessel: str, *, every: float, duration: float, stop: threading.Event) -> int:
        """Cut and restore every ``every`` seconds for ``duration``; the link ends restored."""
        flips = 0
        deadline = time.monotonic() + duration
        try:
            while time.monotonic() < deadline and not stop.is_set():
                self.cut(vessel)
                flips += 1
                if stop.wait(min(every, max(0.0, deadline - time.monotonic()))):
                    break
                self.restore(vessel)
                stop.wait(min(every, max(0.0, deadline - time.monotonic())))
        finally:
            self.restore(vessel)
        return flips

    def shape(self, vessel: str, shape: Shape) -> None:
        """Apply ``shape``: rate in the kernel, half the round trip on each direction."""
        link = self.link(vessel)
        shaper = LinkShaper(link.ident, link.proxy_ports)
        if shape.kbps is None:
            shaper.clear()
        else:
            shaper.apply(shape.kbps)
        for proxy in link.proxies:
            present = {t["name"] for t in self.client.toxics(proxy.name)}
            for stream in ("upstream", "downstream"):
                name = f"latency_{stream}"
                if name in present:
                    self.client.remove_toxic(proxy.name, name)
                if shape.latency_ms or shape.jitter_ms:
                    self.client.add_toxic(
                        proxy.name,
                        name,
                        "latency",
                        stream,
                        latency=shape.latency_ms // 2,
                        jitter=shape.jitter_ms // 2,
                    )
        link.shape = shape
        self._save()

    def sent_bytes(self, vessel: str) -> tuple[int, int]:
        """Bytes through the shaped link so far, (vessel to shore, shore to vessel)."""
        link = self.link(vessel)
        return LinkShaper(link.ident, link.proxy_ports).sent_bytes()

    def queued_bytes(self, vessel: str) -> tuple[int, int]:
        """Bytes queued for the shaped link, not yet sent, (vessel to shore, shore to vessel)."""
        link = self.link(vessel)
        return LinkShaper(link.ident, link.proxy_ports).queued_bytes()

    def detach(self, vessel: str) -> None:
        link = self.state.vessels.pop(vessel, None)
        if link is None:
            return
        LinkShaper(link.ident, link.proxy_ports).clear()
        if self.running():
            known = self.client.proxies()
            for proxy in link.proxies:
                if proxy.name in known:
                    self.client.delete(proxy.name)
        self._save()

    # -- persistence ---------------------------------------------------------------------------

    def _write_config(self) -> None:
        proxies = [
            {"name": p.name, "listen": f"{HOST}:{p.listen}", "upstream": f"{HOST}:{p.upstream}"}
            for link in self.state.vessels.values()
            for p in link.proxies
        ]
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(proxies, indent=2))

    def _save(self) -> None:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._write_config()
            path = self.directory / STATE_FILE
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(self.state.model_dump_json(indent=2))
            tmp.replace(path)


def emulator_dir(home: Path) -> Path:
    return home / "link"
