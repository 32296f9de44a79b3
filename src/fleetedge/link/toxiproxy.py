"""Toxiproxy: the standard TCP fault proxy the link emulator is built on.

The binary comes from the Go module proxy (``go install``, pinned) into the cache, like the
Kafka jars come from Maven Central. The server runs detached with ``-config <file>``; that file
lists every proxy, so a restarted server brings the proxies back, and its path on the command
line is how a recorded pid is recognised as ours. The client speaks Toxiproxy's HTTP API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from fleetedge.link.exceptions import LinkToolError

TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2"
TOXIPROXY_VERSION = "v2.5.0"
SERVER_BINARY = "toxiproxy-server"


@dataclass(frozen=True)
class ToxiproxyBinary:
    """The pinned toxiproxy server binary in ``cache_dir``."""

    cache_dir: Path

    @property
    def path(self) -> Path:
        return self.cache_dir / f"toxiproxy-{TOXIPROXY_VERSION}" / SERVER_BINARY

    def is_installed(self) -> bool:
        return self.path.is_file() and os.access(self.path, os.X_OK)

    def require(self) -> Path:
        if not self.is_installed():
            raise LinkToolError(
                f"toxiproxy {TOXIPROXY_VERSION} is not installed ({self.path})",
                hint="run `fleet runtime fetch` (it needs Go: `apt-get install golang-go`)",
            )
        return self.path

    def install(self) -> bool:
        """``go install`` the server into the cache; False if it was already there."""
        if self.is_installed():
            return False
        go = shutil.which("go")
        if go is None:
            raise LinkToolError(
                "Go is needed once to build toxiproxy and was not found",
                hint="install it (`apt-get install golang-go`) and run `fleet runtime fetch`",
            )
        bin_dir = self.path.parent / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(bin_dir), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        done = subprocess.run(
            [go, "install", f"{TOXIPROXY_MODULE}/cmd/server@{TOXIPROXY_VERSION}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            raise LinkToolError(f"go install of toxiproxy failed:\n{done.stderr.strip()[-2000:]}")
        (bin_dir / "server").replace(self.path)
        return True


def server_alive(pid: int | None, config: Path) -> bool:
    """True if ``pid`` is a toxiproxy server started with ``config`` (not a reused pid)."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and str(config) in proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def spawn_server(binary: Path, api_port: int, config: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a detached toxiproxy server on 127.0.0.1:``api_port`` with ``config``'s proxies."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(binary), "-host", "127.0.0.1", "-port", str(api_port), "-config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class ToxiproxyClient:
    """Toxiproxy's HTTP API on 127.0.0.1."""

    def __init__(self, api_port: int, timeout: float = 5.0) -> None:
        self.base = f"http://127.0.0.1:{api_port}"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 base
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise LinkToolError(f"toxiproxy refused {method} {path}: {exc.code} {detail}") from exc
        except OSError as exc:
            raise LinkToolError(
                f"toxiproxy at {self.base} does not answer: {exc}",
                hint="is the link emulator running? `fleet link status` tells",
            ) from exc
        try:
            return json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            return text  # /version answers in plain text

    def ping(self) -> bool:
        try:
            self._call("GET", "/version")
        except LinkToolError:
            return False
        return True

    def proxies(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "/proxies")
        return result

    def create(self, name: str, listen: str, upstream: str) -> None:
        self._call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream})

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def add_toxic(self, proxy: str, name: str, kind: str, stream: str, **attrs: int) -> None:
        body = {"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attrs}
        self._call("POST", f"/proxies/{proxy}/toxics", body)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return result
