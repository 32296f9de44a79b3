"""A whole fleet started as a user does (``fleet up --detach``), shared by the browser and e2e
tests, and stopped by ``fleet down``; its processes are checked gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from fleetedge.orchestration.chaos import Chaos
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import (
    Snapshot,
    logs_dir,
    plan_path,
    snapshot_path,
    token_path,
)
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, list_clusters
from fleetedge.runtime.jvm import find_processes
from fleetedge.settings import RuntimeSettings
from tests.support.cli import fleet

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class RunningFleet:
    home: Path
    settings: RuntimeSettings
    plan: FleetPlan
    token: str
    stopped: bool = False

    @property
    def url(self) -> str:
        return self.plan.api_url

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            exc.close()  # its socket, or a caller that asks again leaks it
            raise

    def chaos(self) -> Chaos:
        """What `fleet chaos` acts through, in process: for a test that must not wait on a
        CLI's start-up, or reads the link emulator's own word."""
        return Chaos(self.settings.model_copy(update={"home": self.home}))

    def snapshot(self) -> Snapshot:
        snap = Snapshot.load(snapshot_path(self.home))
        assert snap is not None
        return snap

    def log_tail(self, service: str, lines: int = 40) -> str:
        """The end of a service's log, for a failure message that says why it exited."""
        path = logs_dir(self.home) / f"{service}.log"
        if not path.exists():
            return f"(no log at {path})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def fleet(self, *args: str, timeout: float = 300) -> str:
        done = fleet(*args, home=self.home, settings=self.settings, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        pids = [s.pid for s in self.snapshot().services if s.pid]
        done = fleet("down", home=self.home, settings=self.settings, timeout=400)
        left = [p for p in pids if psutil.pid_exists(p) and _alive(p)]
        jvms = find_processes(self.home)
        keep_logs(self.home, ARTIFACTS / "shared-fleet-logs")
        supervisor_log = (logs_dir(self.home) / "cli-up.log").read_text().splitlines()
        forced = [line for line in supervisor_log if "did not stop" in line]
        fleet("down", "--purge", home=self.home, settings=self.settings, timeout=400)
        assert done.returncode == 0, done.stderr
        assert not left, f"services left running after `fleet down`: {left}"
        assert not jvms, f"JVMs left running after `fleet down`: {jvms}"
        assert not forced, f"services killed for not stopping on SIGTERM: {forced}"


def keep_logs(home: Path, into: Path) -> None:
    """The services' logs and the link's JVM logs of the fleet at ``home``, copied into
    ``into`` before `fleet down --purge` deletes them: what a failed test's reader needs."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for log in logs_dir(home).glob("*.log"):
        shutil.copy2(log, into / log.name)
    for log in (home / "link").rglob("server.log"):
        name = "-".join(log.relative_to(home / "link").parts[:-2]) or "link"
        shutil.copy2(log, into / f"jvm-{name}.log")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_fleet(home: Path, settings: RuntimeSettings, *args: str) -> RunningFleet:
    done = fleet("up", "--detach", "--free-ports", *args, home=home, settings=settings,
                 timeout=900)  # fmt: skip
    if done.returncode != 0:
        log = home / "fleet" / "logs" / "fleet-up.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        fleet("down", "--purge", home=home, settings=settings, timeout=400)
        raise AssertionError(f"fleet up failed: {done.stderr}\n{tail}")
    plan = FleetPlan.load(plan_path(home))
    # This process acts on the fleet as its operator does: as the shore's admin.
    runtime = KafkaRuntime(find_java(settings.java), KafkaJars(settings.cache_dir).require())
    for name in list_clusters(home):
        KafkaCluster.open(name, home=home, runtime=runtime)
    return RunningFleet(home, settings, plan, token_path(home).read_text().strip())


def wait_for(probe: Any, timeout: float, what: str, every: float = 1.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = probe()
        except Exception as exc:  # noqa: BLE001 - a service restarting: ask again
            last_error = exc
            found = None
        if found:
            return found
        time.sleep(every)  # polling; the deadline bounds it
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error})")


def env_without_proxy() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
