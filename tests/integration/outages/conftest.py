"""The long outages' world: a one-node vessel and shore, one Connect worker and the link
service (tests/integration/link/env.py's `link_world`), started once for the package.

Its tests are minutes of waiting (a link cut for three minutes, another flapping for two, the
shore down for three), so tests/support/scheduling.py runs the package on a worker of its own
beside the busy start of the suite, not in the link scenarios' long line. The link's outages
run first: their vessels are gone before the shore goes down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaRuntime
from fleetedge.settings import RuntimeSettings
from tests.integration.link.env import LinkEnv, link_world, whole_and_up
from tests.integration.outages.outage import LongOutage
from tests.support.clusters import cluster_factory


@pytest.fixture(scope="package")
def world(runtime: KafkaRuntime, settings: RuntimeSettings, fleet_home: Path) -> Iterator[LinkEnv]:
    home = fleet_home / "outages"
    with (
        cluster_factory(home, runtime) as make_cluster,
        link_world(
            make_cluster, runtime, settings, home / "link", vessel_nodes=1, connect_workers=1
        ) as env,
    ):
        yield env


@pytest.fixture
def linked(world: LinkEnv) -> Iterator[LinkEnv]:
    """The link up, unshaped, every node and worker running, before and after a test."""
    whole_and_up(world)
    yield world
    whole_and_up(world)


@pytest.fixture(scope="module")
def long_outage(world: LinkEnv) -> Iterator[LongOutage]:
    """Two more vessels: one's link cut for three minutes, the other's flapping, while the
    module's first test runs on the world's own vessel (see LongOutage)."""
    with LongOutage(world) as outage:
        yield outage
