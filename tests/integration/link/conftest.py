"""Fixtures of the link scenarios: the vessel, the shore, Connect and the link service, started
once for the package (tests/support/scheduling.py keeps the package on one worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetedge.link.emulator import Shape
from fleetedge.runtime import KafkaRuntime
from fleetedge.settings import RuntimeSettings
from tests.integration.link.env import LinkEnv, another_vessel, link_world
from tests.integration.link.outage import LongOutage
from tests.support.clusters import cluster_factory


@pytest.fixture(scope="package")
def env(
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[LinkEnv]:
    # Retention is checked every 2 s aboard so the retention test needs no long wait.
    retention = {"log.retention.check.interval.ms": "2000"}
    with (
        cluster_factory(fleet_home, runtime) as make_cluster,
        link_world(
            make_cluster, runtime, settings, fleet_home / "link", vessel_config=retention
        ) as world,
    ):
        yield world


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
