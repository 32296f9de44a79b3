"""A local Apache Kafka cluster of KRaft nodes: create, start, stop, kill, inspect.

Lifecycle of ``up``:

1. check every node to start: its ports are free and its data dir is empty or this cluster's;
2. format the storage of nodes that have none (StorageTool, in parallel);
3. start the node JVMs and record their pids in the state file;
4. wait until every broker is registered and a probe topic takes an acks=all write.

If any step fails, the nodes this call started are killed again, so a failed ``up`` leaves no
half-started process behind; the error says which node failed and ends with its log.
"""

from __future__ import annotations

import fcntl
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaException
from pydantic import SecretStr

from fleetedge.runtime import health, node
from fleetedge.runtime.config import ADMIN_USER, read_secret
from fleetedge.runtime.exceptions import (
    ClusterError,
    ClusterNotFoundError,
    ClusterTimeoutError,
    NodeStartError,
    PortInUseError,
)
from fleetedge.runtime.jars import KAFKA_VERSION
from fleetedge.runtime.jvm import KafkaRuntime, process_alive, send_signal, wait_gone
from fleetedge.runtime.ports import NodePorts, port_is_free
from fleetedge.runtime.state import STATE_FILE, ClusterSecurity, ClusterState, NodeState
from fleetedge.security import clients
from fleetedge.security.clients import ClientAuth

STOP_TIMEOUT = 60.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class NodeStatus:
    id: int
    pid: int | None
    alive: bool
    registered: bool
    broker_port: int
    controller_port: int
    link_port: int | None = None
    proxy_port: int | None = None


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    cluster_id: str
    bootstrap_servers: str
    link_bootstrap_servers: str | None
    directory: str
    nodes: list[NodeStatus]
    quorum_leader: int | None
    quorum_epoch: int
    reachable: bool
    topics: int = 0
    under_replicated: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return (
            self.reachable
            and all(n.alive and n.registered for n in self.nodes)
            and self.quorum_leader is not None
            and not self.under_replicated
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}


def state_path(home: Path, name: str) -> Path:
    return home / "clusters" / name / STATE_FILE


def list_clusters(home: Path) -> list[str]:
    root = home / "clusters"
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{STATE_FILE}"))


class KafkaCluster:
    """Control of one local cluster, from the process that created it or from any other."""

    def __init__(self, state: ClusterState, runtime: KafkaRuntime, state_file: Path) -> None:
        self.state = state
        self.runtime = runtime
        self.state_file = state_file
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._register_admin()

    def _register_admin(self) -> None:
        """Whoever controls a secured cluster acts as its admin (unless it has its own id)."""
        security = self.state.security
        if security is None or security.admin_file is None or not security.admin_file.exists():
            return
        auth = ClientAuth(ADMIN_USER, SecretStr(read_secret(security.admin_file)), security.ca_file)
        clients.use_as_admin(self.state.bootstrap_servers, auth)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        *,
        home: Path,
        runtime: KafkaRuntime,
        ports: Sequence[NodePorts],
        data_dir: Path | None = None,
        overrides: dict[str, str] | None = None,
        security: ClusterSecurity | None = None,
    ) -> KafkaCluster:
        """Record a new cluster (nothing starts until :meth:`up`)."""
        path = state_path(home, name)
        if path.exists():
            raise ClusterError(
                "a cluster of this name is already recorded",
                cluster=name,
                hint=f"use it, or `fleet cluster down {name} --purge` first",
            )
        state = ClusterState(
            name=name,
            kafka_version=KAFKA_VERSION,
            directory=(data_dir or path.parent).resolve(),
            nodes=[
                NodeState(
                    id=i,
                    broker_port=p.broker,
                    controller_port=p.controller,
                    link_port=p.link,
                    proxy_port=p.proxy,
                )
                for i, p in enumerate(ports, start=1)
            ],
            overrides=dict(overrides or {}),
            security=security,
        )
        state.save(path)
        return cls(state, runtime, path)

    @classmethod
    def open(cls, name: str, *, home: Path, runtime: KafkaRuntime) -> KafkaCluster:
        """The recorded cluster ``name``; ClusterNotFoundError if there is none."""
        path = state_path(home, name)
        if not path.exists():
            known = ", ".join(list_clusters(home)) or "none"
            raise ClusterNotFoundError(
                f"no cluster recorded under {home} (known: {known})",
                cluster=name,
                hint=f"`fleet cluster up {name}` creates it",
            )
        return cls(ClusterState.load(path), runtime, path)

    def __enter__(self) -> KafkaCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # -- properties -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def bootstrap_servers(self) -> str:
        return self.state.bootstrap_servers

    @property
    def link_bootstrap_servers(self) -> str | None:
        """The shore's way in, through the link emulator (None for a cluster without a link)."""
        return self.state.link_bootstrap_servers

    @property
    def node_ids(self) -> list[int]:
        return [n.id for n in self.state.nodes]

    @property
    def replication_factor(self) -> int:
        return min(3, len(self.state.nodes))

    def is_alive(self, node_id: int) -> bool:
        return process_alive(self.state.node(node_id).pid, self.state.node_dir(node_id))

    def live_nodes(self) -> set[int]:
        return {i for i in self.node_ids if self.is_alive(i)}

    def refresh(self) -> None:
        """Re-read the recorded state (another ``fleet`` process may have changed it)."""
        with self._locked():
            self._reload()

    # -- lifecycle ------------------------------------------------------------------------------

    def up(self, timeout: float = 180.0, progress: Progress | None = None) -> ClusterStatus:
        """Start every node that is not running and wait until the cluster takes writes."""
        say = progress or (lambda _msg: None)
        with self._locked():
            self._reload()
            to_start = [i for i in self.node_ids if not self.is_alive(i)]
            for node_id in to_start:
                self._precheck(node_id)
            unformatted = [i for i in to_start if not node.is_formatted(self.state, i)]
            if unformatted:
                say(f"formatting storage of node(s) {unformatted}")
                node.format_storage(self.runtime, self.state, unformatted)
            try:
                for node_id in to_start:
                    say(f"starting node {node_id}")
                    self._spawn(node_id)
                say("waiting for brokers to register and a probe write to succeed")
                self._wait_writable(to_start, time.monotonic() + timeout)
            except BaseException:
                for node_id in to_start:
                    self._terminate(node_id, signal.SIGKILL, 30.0)
                raise
        return self.status()

    def start_node(self, node_id: int, timeout: float = 300.0) -> None:
        """Restart one node on its data and wait until its broker is registered.

        The deadline is generous: a node SIGKILLed with many partitions recovers each unflushed
        log first, which took over two minutes on a loaded 2-core machine.
        """
        with self._locked():
            self._reload()
            if self.is_alive(node_id):
                return
            self._precheck(node_id)
            if not node.is_formatted(self.state, node_id):
                node.format_storage(self.runtime, self.state, [node_id])
            self._spawn(node_id)
            try:
                deadline = time.monotonic() + timeout
                self._wait(
                    lambda: self._serving(node_id),
                    deadline,
                    f"broker {node_id} to serve",
                    [node_id],
                )
            except BaseException:
                self._terminate(node_id, signal.SIGKILL, 30.0)
                raise

    def stop_node(self, node_id: int, timeout: float = STOP_TIMEOUT) -> None:
        """Graceful stop (SIGTERM: controlled shutdown); SIGKILL only past ``timeout``."""
        with self._locked():
            self._reload()
            self._terminate(node_id, signal.SIGTERM, timeout)

    def kill_node(self, node_id: int) -> None:
        """SIGKILL the node, as a crash would."""
        with self._locked():
            self._reload()
            self._terminate(node_id, signal.SIGKILL, 30.0)

    def down(self, purge: bool = False, timeout: float = 30.0) -> None:
        """Stop every node (all at once; SIGKILL past ``timeout``); ``purge`` deletes all data.

        Nodes are signalled together rather than one by one: the last nodes of a KRaft cluster
        cannot finish a controlled shutdown once the quorum is gone, and would only wait it out.
        """
        with self._locked():
            self._reload()
            sig = signal.SIGKILL if purge else signal.SIGTERM
            live = [i for i in self.node_ids if self.is_alive(i) or i in self._children]
            for node_id in live:
                if self.is_alive(node_id):
                    send_signal(self._pid(node_id), sig)
            for node_id in live:
                self._terminate(node_id, sig, timeout)
            for n in self.state.nodes:
                n.pid = None
            self._children.clear()
            self.state.save(self.state_file)
        if purge:
            shutil.rmtree(self.state.directory, ignore_errors=True)
            shutil.rmtree(self.state_file.parent, ignore_errors=True)

    # -- inspection -----------------------------------------------------------------------------

    def metadata(self, timeout: float = 5.0) -> health.MetadataView:
        return health.metadata(self.bootstrap_servers, timeout)

    def quorum(self) -> tuple[int | None, int]:
        """(quorum leader or None while electing, its epoch), from the live nodes' state files."""
        live = self.live_nodes()
        views = [
            view
            for i in self.node_ids
            if (view := health.read_quorum_state(node.data_dir(self.state, i), i)) is not None
        ]
        return health.quorum_leader(views, live)

    def status(self, timeout: float = 5.0) -> ClusterStatus:
        self._reload()
        live = self.live_nodes()
        try:
            md = self.metadata(timeout) if live else None
        except KafkaException:
            md = None
        leader, epoch = self.quorum()
        return ClusterStatus(
            name=self.name,
            cluster_id=self.state.cluster_id,
            bootstrap_servers=self.bootstrap_servers,
            link_bootstrap_servers=self.state.link_bootstrap_servers,
            directory=str(self.state.directory),
            nodes=[
                NodeStatus(
                    id=n.id,
                    pid=n.pid if n.id in live else None,
                    alive=n.id in live,
                    registered=md is not None and n.id in md.brokers,
                    broker_port=n.broker_port,
                    controller_port=n.controller_port,
                    link_port=n.link_port,
                    proxy_port=n.proxy_port,
                )
                for n in self.state.nodes
            ],
            quorum_leader=leader,
            quorum_epoch=epoch,
            reachable=md is not None,
            topics=len({p.topic for p in md.partitions}) if md else 0,
            under_replicated=[f"{p.topic}-{p.partition}" for p in md.under_replicated()]
            if md
            else [],
        )

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Wait until every node runs and is registered and no partition lacks a replica."""

        def in_sync() -> bool:
            if self.live_nodes() != set(self.node_ids) or not self._registered(set(self.node_ids)):
                return False
            return not self.metadata().under_replicated()

        self._wait(in_sync, time.monotonic() + timeout, "all replicas to be in sync", [])

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise state changes across ``fleet`` processes (flock on the state directory)."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with (self.state_file.parent / "cluster.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _reload(self) -> None:
        if self.state_file.exists():
            self.state = ClusterState.load(self.state_file)

    def _pid(self, node_id: int) -> int:
        pid = self.state.node(node_id).pid
        assert pid is not None  # noqa: S101 - callers check is_alive first
        return pid

    def _precheck(self, node_id: int) -> None:
        ports = self.state.node(node_id).ports
        roles = (("broker", ports.broker), ("controller", ports.controller), ("link", ports.link))
        for role, port in roles:
            if port is not None and not port_is_free(port):
                raise PortInUseError(
                    f"{role} port 127.0.0.1:{port} is already in use",
                    cluster=self.name,
                    node=node_id,
                    hint=f"stop what holds it (`ss -ltnp 'sport = :{port}'`) or use other ports",
                )

    def _spawn(self, node_id: int) -> None:
        proc = node.spawn(self.runtime, self.state, node_id)
        self._children[node_id] = proc
        self.state.node(node_id).pid = proc.pid
        self.state.save(self.state_file)

    def _terminate(self, node_id: int, sig: signal.Signals, timeout: float) -> None:
        record = self.state.node(node_id)
        marker = self.state.node_dir(node_id)
        child = self._children.pop(node_id, None)
        if child is not None and child.pid == record.pid:
            # Our own child: wait on it, not on /proc, whose cmdline empties while a JVM exits.
            child.send_signal(sig)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(30.0)
        elif record.pid is not None and process_alive(record.pid, marker):
            send_signal(record.pid, sig)
            if not wait_gone(record.pid, timeout) and sig != signal.SIGKILL:
                send_signal(record.pid, signal.SIGKILL)
                wait_gone(record.pid, 30.0)
        record.pid = None
        self.state.save(self.state_file)

    def _registered(self, node_ids: set[int]) -> bool:
        try:
            return node_ids <= self.metadata(timeout=3.0).brokers
        except KafkaException:
            return False

    def _serving(self, node_id: int) -> bool:
        """The node's own listener answers a metadata request that lists it as a live broker.

        Asking the cluster at large is not enough after a crash: until the controller fences the
        dead incarnation (broker.session.timeout.ms), it still appears registered.
        """
        own = f"127.0.0.1:{self.state.node(node_id).broker_port}"
        try:
            return node_id in health.metadata(own, timeout=3.0).brokers
        except KafkaException:
            return False

    def _wait(
        self, condition: Callable[[], bool], deadline: float, what: str, watched: Sequence[int]
    ) -> None:
        """Poll ``condition`` until ``deadline``; fail fast if a ``watched`` node process exits."""
        while True:
            for node_id in watched:
                # Our own child is judged by waitpid, not /proc: a JVM's command line can read
                # empty for a moment while it starts on a loaded machine, which made a healthy
                # node look gone (a rare failure of the restart tests in CI).
                child = self._children.get(node_id)
                code = None if child is None else child.poll()
                if child is not None and code is None:
                    continue
                if code is None and self.is_alive(node_id):
                    continue
                how = f" (exit code {code})" if code is not None else ""
                if code is not None and code < 0:
                    how = f" (killed by signal {-code})"
                raise node.start_failure(
                    self.state, node_id, f"the node process exited during start-up{how}"
                )
            if condition():
                return
            if time.monotonic() > deadline:
                tails = "\n".join(node.log_tail(self.state, i, 10) for i in watched)
                raise ClusterTimeoutError(
                    f"timed out waiting for {what}\n{tails}", cluster=self.name
                )
            time.sleep(0.25)

    def _wait_writable(self, started: Sequence[int], deadline: float) -> None:
        self._wait(
            lambda: all(self._serving(i) for i in started) and self._registered(set(self.node_ids)),
            deadline,
            "brokers to register",
            started,
        )

        def probe() -> bool:
            try:
                health.probe_write(self.bootstrap_servers, self.replication_factor, timeout=10.0)
            except (KafkaException, ClusterTimeoutError):
                return False
            return True

        self._wait(probe, deadline, "a probe write to be acknowledged", started)


__all__ = [
    "ClusterStatus",
    "KafkaCluster",
    "NodeStartError",
    "NodeStatus",
    "list_clusters",
    "state_path",
]
