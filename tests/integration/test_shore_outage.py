"""The whole shore down for three minutes: the link recovers without help, and nothing is lost or
doubled. A small world of its own (one-node vessel and shore, one Connect worker), apart from the
link scenarios': its three minutes are a wait, which tests/support/scheduling.py runs on a
worker of their own beside the busy start of the suite, not in the link scenarios' long line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaRuntime
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.integration.link.env import (
    LinkEnv,
    both_running,
    link_world,
    produce_through_outage,
)
from tests.support.clusters import cluster_factory
from tests.support.traffic import arrived_once_in_order

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def world(runtime: KafkaRuntime, settings: RuntimeSettings, fleet_home: Path) -> Iterator[LinkEnv]:
    home = fleet_home / "shore-outage"
    with (
        cluster_factory(home, runtime) as make_cluster,
        link_world(
            make_cluster, runtime, settings, home / "link", vessel_nodes=1, connect_workers=1
        ) as env,
    ):
        yield env


@pytest.mark.slow
def test_shore_down_three_minutes_recovers_without_help(world: LinkEnv) -> None:
    traffic = world.traffic("SHDU", rate=40).start()
    wait_until(lambda: traffic.acked_count >= 200, timeout=60, what="traffic before the outage")
    wait_until(lambda: both_running(world), timeout=180, what="both connectors' tasks")
    for node in world.shore.node_ids:
        world.shore.kill_node(node)
    produce_through_outage(traffic, rate=40)
    world.shore.up()  # every node at once: one of several alone has no quorum to join
    world.shore.wait_in_sync(timeout=180)
    traffic.stop()
    dups = arrived_once_in_order(
        world.shore.bootstrap_servers, world.name, traffic.acked, timeout=600
    )
    assert sum(dups.values()) == 0
