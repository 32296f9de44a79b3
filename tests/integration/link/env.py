"""The link scenarios' shared world: one vessel (3 nodes, reached by the shore only through
Toxiproxy, a proxy per broker) and one shore (1 node), a real Connect cluster of two workers
carrying MirrorMaker 2's connectors, and the link service's supervisor running beside the
tests as it runs in the fleet; a test that needs two vessels adds a second for itself (the
`beside` fixture), and test_outages.py runs a long outage on two more beside its other tests
(outage.py). Each test produces its own containers (a distinct owner code), so its check
covers exactly what it produced."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from fleetedge.link.connect import ConnectGroup, ConnectSettings, ConnectWorker
from fleetedge.link.emulator import LinkEmulator
from fleetedge.link.exceptions import ConnectUnavailable
from fleetedge.link.health import LinkHealth, measure
from fleetedge.link.mirror import UPLINKS
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.link.vessels import VesselLink
from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.support.traffic import EventTraffic

OUTAGE_S = 185  # longer than the MirrorMaker 2 producer's delivery.timeout.ms (120 s)
WEEK_MS = str(7 * 24 * 3600 * 1000)


@dataclass
class LinkEnv:
    vessel: KafkaCluster
    shore: KafkaCluster
    emulator: LinkEmulator
    link: VesselLink
    supervisor: LinkSupervisor
    workers: list[ConnectWorker]
    connect: ConnectRest
    # What a test needs to put one more vessel on the link (the `beside` fixture).
    runtime: KafkaRuntime
    directory: Path  # the Connect workers' files, where a vessel link's secrets go
    make_cluster: Callable[..., KafkaCluster]

    @property
    def name(self) -> str:
        return self.vessel.name

    def traffic(
        self, owner: str, *, containers: int = 40, rate: float = 50.0, alert_every: int = 25
    ) -> EventTraffic:
        return EventTraffic(
            self.vessel.bootstrap_servers,
            self.name,
            owner,
            containers=containers,
            rate=rate,
            alert_every=alert_every,
        )

    def health(self) -> LinkHealth:
        return measure(
            self.name, self.vessel.bootstrap_servers, self.shore.bootstrap_servers, UPLINKS
        )


@contextlib.contextmanager
def link_world(
    make_cluster: Callable[..., KafkaCluster],
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    home: Path,
    *,
    vessel_nodes: int = 3,
    connect_workers: int = 2,
    vessel_config: Mapping[str, str] | None = None,
) -> Iterator[LinkEnv]:
    """A vessel (reached through Toxiproxy), a one-node shore, a Connect cluster of
    ``connect_workers`` and the link service's supervisor, as the fleet runs them; the files in
    ``home``. Killed on leaving, not stopped: their data is deleted next."""
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    vessel = make_cluster(nodes=vessel_nodes, link=True, **(vessel_config or {}))
    # One shore node: these scenarios are about the link; the shore's own replication is the
    # fleet's and test_replication.py's (two more brokers here cost CPU for 20 minutes).
    shore = make_cluster(nodes=1)
    emulator = LinkEmulator(home, binary.path, free_ports(1)[0])
    emulator.start()
    directory = home / "connect"
    settings_ = ConnectSettings(shore.bootstrap_servers, shore.replication_factor)
    group = ConnectGroup(runtime, directory, settings_, free_ports(connect_workers))
    workers = group.workers
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        connect = group.start()
        link = vessel_link(
            runtime, directory, emulator, vessel, shore, downlink_port=free_ports(1)[0]
        )
        supervisor = LinkSupervisor(
            [link], connect, stall_after=60, health_every=3, status_missing_after=20
        )
        thread = threading.Thread(target=supervisor.run, args=(stop, 1.0), daemon=True)
        thread.start()
        yield LinkEnv(
            vessel, shore, emulator, link, supervisor, workers, connect,
            runtime, directory, make_cluster,
        )  # fmt: skip
    finally:
        # Killed, not stopped (a clean stop took 45 s).
        stop.set()
        if thread is not None:
            thread.join(60)
            supervisor.close(kill=True)
        group.kill()
        emulator.stop()


@contextlib.contextmanager
def another_vessel(env: LinkEnv) -> Iterator[LinkEnv]:
    """One more vessel (one node) on ``env``'s link: its own proxy, connectors and downlink on
    the same Connect cluster and link service; gone again at the end."""
    vessel = env.make_cluster(nodes=1, link=True)
    link = vessel_link(
        env.runtime, env.directory, env.emulator, vessel, env.shore,
        downlink_port=free_ports(1)[0],
    )  # fmt: skip
    env.supervisor.add(link)
    try:
        yield dataclasses.replace(env, vessel=vessel, link=link)
    finally:
        env.emulator.restore(vessel.name)
        if link.downlink is not None:
            link.downlink.kill()  # not stopped: its data is deleted next
        env.supervisor.remove(vessel.name)
        vessel.down(purge=True)


def produce_through_outage(traffic: EventTraffic, rate: float) -> None:
    """Hold the outage until the vessel has produced ``OUTAGE_S`` seconds' worth of records."""
    target = traffic.acked_count + int(rate * OUTAGE_S)
    wait_until(lambda: traffic.acked_count >= target, timeout=OUTAGE_S * 2,
               what="an outage's worth of records aboard", interval=5)  # fmt: skip


def alter(admin: AdminClient, resource: ConfigResource, values: dict[str, str]) -> None:
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in values.items()
    ]
    target = ConfigResource(resource.restype, resource.name, incremental_configs=entries)
    admin.incremental_alter_configs([target])[target].result()


def running_tasks(env: LinkEnv) -> dict[str, str]:
    """Each running task of the vessel's connectors and the worker (host:port) running it;
    nothing while Connect rebalances (409) or the worker asked is the one killed."""
    try:
        states = env.connect.connectors()
    except ConnectUnavailable:
        return {}
    return {
        f"{name}/{task.id}": task.worker
        for name in env.link.connectors
        if name in states
        for task in states[name].tasks
        if task.state == "RUNNING"
    }


def both_running(env: LinkEnv, away_from: str | None = None) -> dict[str, str] | None:
    """Both tasks RUNNING (none on the worker ``away_from``): task -> worker; else None."""
    tasks = running_tasks(env)
    if len(tasks) != 2 or away_from in tasks.values():
        return None
    return tasks
