"""The whole shore down for three minutes: the link recovers without help, and nothing is lost or
doubled (in the long outages' world, conftest.py)."""

from __future__ import annotations

import pytest

from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import LinkEnv, both_running, produce_through_outage
from tests.support.traffic import arrived_once_in_order

pytestmark = pytest.mark.kafka


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
