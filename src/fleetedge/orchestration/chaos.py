"""Failures injected on purpose, from the CLI (``fleet chaos``) and the dashboard.

Each acts on the fleet that ``fleet up`` recorded under ``FLEET_HOME``: a broker is SIGKILLed as a
crash would, a service's process too (its supervisor restarts both), a vessel's link is cut
at the link emulator, as a satellite outage would, and a reefer fault (a bay losing power, a
door left open) is handed to the vessel's running simulator.
"""

from __future__ import annotations

import signal

import psutil

from fleetedge.devices.exceptions import ScriptError
from fleetedge.devices.faults import ScriptedFault
from fleetedge.devices.live import append
from fleetedge.link.emulator import LinkEmulator, Shape, emulator_dir
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.orchestration.exceptions import FleetError, ServiceNotFoundError
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import Snapshot, live_faults_path, plan_path, snapshot_path
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, list_clusters
from fleetedge.runtime.jvm import send_signal, wait_gone
from fleetedge.settings import RuntimeSettings


class Chaos:
    def __init__(self, cfg: RuntimeSettings) -> None:
        self.cfg = cfg

    def kill_broker(self, cluster: str, node: int) -> None:
        """SIGKILL node ``node`` of ``cluster`` (``vessel-1``, ``shore``)."""
        if cluster not in list_clusters(self.cfg.home):
            raise FleetError(f"no cluster named {cluster!r}", hint="`fleet status` lists them")
        runtime = KafkaRuntime(
            java=find_java(self.cfg.java),
            jars=KafkaJars(self.cfg.cache_dir).require(),
            heap_mb=self.cfg.broker_heap_mb,
        )
        kafka = KafkaCluster.open(cluster, home=self.cfg.home, runtime=runtime)
        if node not in kafka.node_ids:
            raise FleetError(f"{cluster} has no node {node} (nodes {kafka.node_ids})")
        kafka.kill_node(node)

    def kill_service(self, name: str) -> int:
        """SIGKILL the supervised service ``name``; returns the pid killed."""
        snapshot = Snapshot.load(snapshot_path(self.cfg.home))
        if snapshot is None:
            raise ServiceNotFoundError("no supervised fleet is running", hint="start `fleet up`")
        found = next((s for s in snapshot.services if s.name == name), None)
        if found is None:
            names = ", ".join(s.name for s in snapshot.services)
            raise ServiceNotFoundError(f"no service named {name!r} (services: {names})")
        if found.pid is None or not _is_fleet_process(found.pid):
            raise FleetError(f"{name} is not running now (it may be restarting)")
        send_signal(found.pid, signal.SIGKILL)
        wait_gone(found.pid, 10)
        return found.pid

    def fault(self, vessel: str, line: str) -> ScriptedFault:
        """Have the vessel's simulator inject ``line`` (``0m bay 3 power-loss 40m``: its time
        counts from when the simulator reads it, at its next tick)."""
        plan = (
            FleetPlan.load(plan_path(self.cfg.home)) if plan_path(self.cfg.home).exists() else None
        )
        if plan is None or vessel not in plan.vessels:
            known = ", ".join(plan.vessels) if plan else "none: no fleet is running"
            raise FleetError(f"no vessel named {vessel!r} (vessels: {known})")
        try:
            return append(live_faults_path(self.cfg.home, vessel), line)
        except ScriptError as exc:
            raise FleetError(f"not a fault: {exc.message}") from exc

    def emulator(self) -> LinkEmulator:
        directory = emulator_dir(self.cfg.home)
        if not (directory / "emulator.json").exists():
            raise FleetError("no link emulator is recorded", hint="start the fleet with `fleet up`")
        binary = ToxiproxyBinary(self.cfg.cache_dir.parent)
        return LinkEmulator(directory, binary.path, 0)

    def shape_link(self, vessel: str, shape: Shape) -> None:
        """Limit the vessel's link (``Shape()`` lifts every limit)."""
        self.emulator().shape(vessel, shape)

    def cut_link(self, vessel: str) -> None:
        self.emulator().cut(vessel)

    def restore_link(self, vessel: str) -> None:
        self.emulator().restore(vessel)


def _is_fleet_process(pid: int) -> bool:
    """A ``fleet`` service, or a JVM one became (a Connect worker runs as its JVM)."""
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return "fleetedge.cli" in args or any(a.startswith("-Dfleetedge.process=") for a in args)
