"""Fixtures of the link scenarios: the vessel, the shore, Connect and the link service, started
once for the package (tests/support/scheduling.py keeps the package on one worker)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.link.emulator import LinkEmulator, Shape
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.ports import free_ports
from fleetedge.settings import RuntimeSettings
from tests.integration.link.env import LinkEnv, another_vessel
from tests.integration.link.outage import LongOutage
from tests.support.clusters import cluster_factory


@pytest.fixture(scope="package")
def env(
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[LinkEnv]:
    with cluster_factory(fleet_home, runtime) as make_cluster:
        yield from _env(make_cluster, runtime, settings, fleet_home)


def _env(
    make_cluster: Callable[..., KafkaCluster],
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[LinkEnv]:
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    # Retention is checked every 2 s aboard so the retention test needs no long wait.
    vessel = make_cluster(link=True, **{"log.retention.check.interval.ms": "2000"})
    # One shore node: these scenarios are about the link; the shore's own replication is the
    # fleet's and test_replication.py's (two more brokers here cost CPU for 20 minutes).
    shore = make_cluster(nodes=1)
    emulator = LinkEmulator(fleet_home / "link", binary.path, free_ports(1)[0])
    emulator.start()
    directory = fleet_home / "link" / "connect"
    settings_ = ConnectSettings(shore.bootstrap_servers, shore.replication_factor)
    group = ConnectGroup(runtime, directory, settings_, free_ports(2))
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
        # Killed, not stopped: their data is deleted next (a clean stop took 45 s).
        stop.set()
        if thread is not None:
            thread.join(60)
            supervisor.close(kill=True)
        group.kill()
        emulator.stop()


@pytest.fixture
def linked(env: LinkEnv) -> Iterator[LinkEnv]:
    """The link up, unshaped, every node of both clusters running, before and after a test."""
    env.emulator.restore(env.name)
    env.emulator.shape(env.name, Shape())
    yield env
    env.emulator.restore(env.name)
    env.emulator.shape(env.name, Shape())
    for cluster in (env.vessel, env.shore):
        if not all(cluster.is_alive(node) for node in cluster.node_ids):
            cluster.up()
    for worker in env.workers:
        worker.start()  # as the fleet's supervisor would, after a test killed it


@pytest.fixture
def beside(linked: LinkEnv) -> Iterator[LinkEnv]:
    """A second vessel on the same link (one node: the link is what its test is about)."""
    with another_vessel(linked) as vessel:
        yield vessel


@pytest.fixture(scope="module")
def long_outage(env: LinkEnv) -> Iterator[LongOutage]:
    """Two more vessels: one's link cut for three minutes, the other's flapping, while the
    module's tests run on the first vessel (see LongOutage)."""
    with LongOutage(env) as outage:
        yield outage
