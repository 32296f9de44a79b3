"""The process supervisor: every service of the fleet, and every Kafka node, kept running.

Each round (every second):

1. a service whose process exited is logged with its exit code and restarted after a backoff
   that doubles while it keeps dying young (1 s, 2 s, ... up to ``max_backoff``) and resets once
   it has lived ``healthy_after`` seconds;
2. a running service is probed on its metrics (or health) URL: ``starting`` until it answers,
   then ``healthy``;
3. a Kafka node whose JVM is gone is restarted on its data, in a thread of its own (a node
   takes seconds to register), after its own backoff;
4. the round's view is written to ``services.json`` for ``fleet status`` and the API.

The services and clusters to run can change while it runs (a vessel joins or leaves the
fleet): :meth:`ProcessSupervisor.reconcile` starts what is new and stops what is gone, touching
nothing else.

Services are ``fleet`` sub-commands run as ``python -m fleetedge.cli``, each in a session of its
own with its log in ``logs/<name>.log``: a Ctrl-C at the terminal reaches the supervisor only,
which then stops them in reverse order (SIGTERM, then SIGKILL past a timeout).
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog
from prometheus_client import Counter, Gauge

from fleetedge.orchestration.exceptions import FleetError
from fleetedge.orchestration.spec import ServiceSpec
from fleetedge.orchestration.state import NodeState, ServicePhase, ServiceState, Snapshot
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.retry import Backoff

log = structlog.get_logger("fleetedge.orchestration.supervisor")

RESTARTS = Counter("fleetedge_service_restarts_total", "services restarted", ["service", "kind"])
UP = Gauge("fleetedge_service_up", "1 while the service's process runs", ["service", "kind"])
NODE_RESTARTS = Counter("fleetedge_node_restarts_total", "Kafka nodes restarted", ["cluster"])


@dataclass
class _Child:
    spec: ServiceSpec
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    not_before: float = 0.0
    healthy: bool = False
    probed_at: float = 0.0
    last_exit: int | None = None
    held: bool = True  # not started yet (services start in stages)


@dataclass
class _Node:
    cluster: KafkaCluster
    node: int
    restarts: int = 0
    backoff: float = 0.0
    dead_since: float | None = None
    thread: threading.Thread | None = None
    alive: bool = True
    lived_from: float = field(default_factory=time.monotonic)


def service_command(spec: ServiceSpec) -> list[str]:
    return [sys.executable, "-m", "fleetedge.cli", "--log-json", *spec.args]


class ProcessSupervisor:
    """Start, watch and restart the fleet's services and Kafka nodes (see the module doc)."""

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        *,
        logs: Path,
        snapshot: Path,
        clusters: Sequence[KafkaCluster] = (),
        backoff: Backoff | None = None,
        node_backoff: Backoff | None = None,
        env: dict[str, str] | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.children = [_Child(s, logs / f"{s.name}.log") for s in specs]
        self.nodes = [_Node(c, n) for c in clusters for n in c.node_ids]
        self.logs = logs
        self.snapshot_path = snapshot
        self.backoff = backoff or Backoff()
        self.node_backoff = node_backoff or Backoff(initial=10.0, maximum=60.0, healthy_after=60.0)
        self.env = {**os.environ, **(env or {})}
        self.on_event = on_event or (lambda _message: None)
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, kinds: Sequence[str] | None = None) -> None:
        """Start the services of ``kinds`` (all when None) that have not started yet."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for child in self.children:
            if child.held and (kinds is None or child.spec.kind in kinds):
                child.held = False
                self._spawn(child)
        self.write_snapshot()

    def run(
        self,
        stop: threading.Event,
        interval: float = 1.0,
        on_round: Callable[[], None] | None = None,
    ) -> None:
        """Rounds until ``stop``; ``on_round`` runs before each (a changed plan, say)."""
        while not stop.wait(interval):
            if on_round is not None:
                try:
                    on_round()
                except Exception:  # one bad round must not end the supervision
                    log.exception("plan check failed; the fleet runs on as it was")
            self.step()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every service, newest first; SIGKILL what is left after ``timeout``."""
        self._stopping = True
        running = [c for c in reversed(self.children) if c.proc and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None  # noqa: S101 - filtered above
            child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in running:
            assert child.proc is not None  # noqa: S101 - filtered above
            try:
                child.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("service did not stop, killing it", service=child.spec.name)
                child.proc.kill()
                child.proc.wait(10)
        for child in self.children:
            if child.proc is not None:
                child.last_exit = child.proc.poll()
            child.proc = None
            child.healthy = False
            self._close_log(child)
            UP.labels(child.spec.name, child.spec.kind).set(0)
        for node in self.nodes:
            if node.thread is not None:
                node.thread.join(130)
        self.write_snapshot()

    def reconcile(
        self, specs: Sequence[ServiceSpec], clusters: Sequence[KafkaCluster]
    ) -> tuple[list[str], list[str]]:
        """Run exactly ``specs`` and watch exactly ``clusters`` from now on: start the services
        that are new, stop those that are gone (SIGTERM, then SIGKILL), and leave every other
        one running as it is. Returns (started, stopped) service names."""
        wanted = {spec.name: spec for spec in specs}
        have = {child.spec.name for child in self.children}
        stopped = [c for c in self.children if c.spec.name not in wanted]
        for child in stopped:
            self._terminate(child)
        self.children = [c for c in self.children if c.spec.name in wanted]
        started: list[str] = []
        for spec in specs:
            if spec.name not in have:
                child = _Child(spec, self.logs / f"{spec.name}.log", held=False)
                self.children.append(child)
                self._spawn(child)
                started.append(spec.name)
        names = {c.name for c in clusters}
        known = {n.cluster.name for n in self.nodes}
        self.nodes = [n for n in self.nodes if n.cluster.name in names]
        self.nodes += [_Node(c, i) for c in clusters if c.name not in known for i in c.node_ids]
        self.write_snapshot()
        return started, [c.spec.name for c in stopped]

    def _terminate(self, child: _Child, timeout: float = 30.0) -> None:
        if child.proc is not None and child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(10)
        child.proc = None
        child.healthy = False
        self._close_log(child)
        UP.labels(child.spec.name, child.spec.kind).set(0)
        log.info("service stopped", service=child.spec.name)

    # -- one round ------------------------------------------------------------------------------

    def step(self) -> None:
        now = time.monotonic()
        for child in self.children:
            self._watch(child, now)
        for node in self.nodes:
            self._watch_node(node, now)
        self.write_snapshot()

    def all_healthy(self) -> bool:
        return all(c.healthy for c in self.children)

    def pending(self) -> list[str]:
        """Started services not healthy yet."""
        return [c.spec.name for c in self.children if not c.healthy and not c.held]

    def wait_healthy(
        self,
        timeout: float,
        on_wait: Callable[[list[str]], None],
        stop: threading.Event | None = None,
    ) -> None:
        """Run rounds until every started service is healthy (or ``stop`` is set); FleetError
        past ``timeout``. ``on_wait`` hears which services are pending, each time that changes."""
        deadline = time.monotonic() + timeout
        shown: list[str] = []
        while (pending := self.pending()) and not (stop and stop.is_set()):
            if time.monotonic() > deadline:
                raise FleetError(
                    f"services not healthy after {timeout:.0f}s: {', '.join(pending)}",
                    hint=f"see their logs in {self.logs}",
                )
            if pending != shown:
                on_wait(pending)
                shown = pending
            time.sleep(0.5)  # the supervisor's round; the deadline above bounds the wait
            self.step()

    def snapshot(self) -> Snapshot:
        return Snapshot(
            supervisor_pid=os.getpid(),
            updated_at=time.time(),
            services=[
                ServiceState(
                    name=c.spec.name,
                    kind=c.spec.kind,
                    vessel=c.spec.vessel,
                    pid=c.proc.pid if c.proc else None,
                    phase=self._phase(c),
                    restarts=c.restarts,
                    last_exit=c.last_exit,
                    log=str(c.log_path),
                )
                for c in self.children
            ],
            nodes=[
                NodeState(cluster=n.cluster.name, node=n.node, alive=n.alive, restarts=n.restarts)
                for n in self.nodes
            ],
        )

    def write_snapshot(self) -> None:
        self.snapshot().save(self.snapshot_path)

    # -- services -------------------------------------------------------------------------------

    def _phase(self, child: _Child) -> ServicePhase:
        if child.held:
            return "stopped"
        if child.proc is None:
            return "stopped" if self._stopping else "backoff"
        return "healthy" if child.healthy else "starting"

    def _spawn(self, child: _Child) -> None:
        self._close_log(child)
        child.log_file = child.log_path.open("ab")
        child.proc = subprocess.Popen(
            service_command(child.spec),
            stdin=subprocess.DEVNULL,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            env={**self.env, **child.spec.env},
            start_new_session=True,
        )
        child.started = time.monotonic()
        child.healthy = False
        UP.labels(child.spec.name, child.spec.kind).set(1)
        log.info("service started", service=child.spec.name, pid=child.proc.pid)

    def _watch(self, child: _Child, now: float) -> None:
        if child.held:
            return
        if child.proc is not None:
            code = child.proc.poll()
            if code is None:
                if not child.healthy and now - child.probed_at >= 1.0:
                    child.probed_at = now
                    child.healthy = _answers(child.spec.probe_url)
                return
            lived = now - child.started
            child.proc = None
            child.healthy = False
            child.last_exit = code
            child.backoff = self.backoff.next(child.backoff, lived)
            child.not_before = now + child.backoff
            UP.labels(child.spec.name, child.spec.kind).set(0)
            log.warning("service exited", service=child.spec.name, exit_code=code,
                        lived_s=round(lived, 1), restart_in_s=child.backoff)  # fmt: skip
            self.on_event(f"{child.spec.name} exited ({_exit_text(code)}); restart in "
                          f"{child.backoff:.0f}s")  # fmt: skip
            return
        if not self._stopping and now >= child.not_before:
            child.restarts += 1
            RESTARTS.labels(child.spec.name, child.spec.kind).inc()
            self._spawn(child)
            log.info("service restarted", service=child.spec.name, restarts=child.restarts)
            self.on_event(f"{child.spec.name} restarted by the supervisor")

    @staticmethod
    def _close_log(child: _Child) -> None:
        if child.log_file is not None:
            child.log_file.close()
            child.log_file = None

    # -- Kafka nodes ----------------------------------------------------------------------------

    def _watch_node(self, node: _Node, now: float) -> None:
        if node.thread is not None and not node.thread.is_alive():
            node.thread = None
        # A restart holds the cluster's lock until its node registers: look again after it.
        if any(n.thread for n in self.nodes if n.cluster is node.cluster):
            return
        node.cluster.refresh()
        node.alive = node.cluster.is_alive(node.node)
        if node.alive:
            node.dead_since = None
            return
        if node.dead_since is None:
            node.dead_since = now
            node.backoff = self.node_backoff.next(node.backoff, now - node.lived_from)
            log.warning("kafka node down", cluster=node.cluster.name, node=node.node,
                        restart_in_s=node.backoff)  # fmt: skip
            self.on_event(f"{node.cluster.name} broker {node.node} is down; restart in "
                          f"{node.backoff:.0f}s")  # fmt: skip
            return
        if self._stopping or now - node.dead_since < node.backoff:
            return
        node.thread = threading.Thread(
            target=self._restart_node, args=(node,), name=f"restart-{node.cluster.name}-{node.node}"
        )
        node.thread.start()

    def _restart_node(self, node: _Node) -> None:
        try:
            node.cluster.start_node(node.node)
        except Exception as exc:
            log.exception("kafka node restart failed", cluster=node.cluster.name, node=node.node,
                      error=str(exc))  # fmt: skip
            node.dead_since = time.monotonic()
            return
        node.restarts += 1
        node.lived_from = time.monotonic()
        node.dead_since = None
        NODE_RESTARTS.labels(node.cluster.name).inc()
        log.info("kafka node restarted", cluster=node.cluster.name, node=node.node)
        self.on_event(f"{node.cluster.name} broker {node.node} restarted by the supervisor")


def _answers(url: str | None) -> bool:
    """True when the service's probe URL answers 200 (a service with none counts once alive)."""
    if url is None:
        return True
    # A liveness look at our own process: it sends nothing secret, so an HTTPS API's
    # certificate (issued for the names clients use) is not verified here.
    context = ssl._create_unverified_context() if url.startswith("https:") else None  # noqa: S323
    try:
        with urllib.request.urlopen(url, timeout=0.5, context=context) as response:  # noqa: S310
            return int(response.status) == 200
    except OSError:
        return False


def _exit_text(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"
