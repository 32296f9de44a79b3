"""Outages of the link lose nothing, and alerts come first after every cut: ten cuts and restores
of one vessel's link, beside a three-minute cut of a second vessel's and the flapping of a
third's (outage.py)."""

from __future__ import annotations

import time

import pytest

from fleetedge.events import topics
from fleetedge.link.connectors import connector_name
from fleetedge.link.mirror import BULK
from fleetedge.runtime.reading import end_offset
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import LinkEnv, both_running
from tests.integration.outages.outage import RATE, LongOutage
from tests.support.traffic import EventTraffic, arrived_once_in_order

pytestmark = pytest.mark.kafka


@pytest.mark.slow
@pytest.mark.usefixtures("long_outage")
def test_alerts_come_ashore_before_the_backlog_ten_times_running(linked: LinkEnv) -> None:
    """Ten cuts and restores, each with a backlog of windows: the first alert comes ashore
    before the first backlogged window every time. Meanwhile two more vessels on the same
    Connect cluster and link service are in the long outage checked next."""
    traffic = linked.traffic("AFTU", containers=50)
    wait_until(lambda: both_running(linked), timeout=180, what="both connectors running")
    orders = [_cut_and_restore(linked, traffic, cycle) for cycle in range(10)]
    print("first alert and first backlogged window after each restore (s):", orders)
    assert all(o["alert"] < o["window"] for o in orders), orders
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)


def _cut_and_restore(env: LinkEnv, traffic: EventTraffic, cycle: int) -> dict[str, float]:
    """A backlog of windows and an alert behind a cut; after the restore, when the first of
    each came ashore (seconds)."""
    shore = env.shore.bootstrap_servers
    flows = {
        "alert": topics.on_shore(env.name, topics.ALERTS),
        "window": topics.on_shore(env.name, topics.AGGREGATES),
    }
    env.emulator.cut(env.name)
    traffic.burst(300)
    traffic.one_alert()
    # The link service has seen the cut and asked Connect to hold the bulk connector; Connect
    # reports the hold once its task has taken the pause (at its next turn).
    bulk = connector_name(env.name, BULK)

    def bulk_paused() -> bool:
        state = env.connect.status(bulk)
        return state is not None and state.tasks_paused

    wait_until(bulk_paused, timeout=60, what=f"cycle {cycle}: the bulk held during the cut")
    before = {name: end_offset(shore, topic) for name, topic in flows.items()}
    env.emulator.restore(env.name)
    first: dict[str, float] = {}
    began = time.monotonic()

    def arrived() -> bool:
        for name, topic in flows.items():
            if name not in first and end_offset(shore, topic) > before[name]:
                first[name] = time.monotonic() - began
        return len(first) == 2

    wait_until(arrived, timeout=120, what=f"cycle {cycle}: both flows ashore", interval=0.1)
    return first


@pytest.mark.slow
def test_a_three_minute_cut_and_a_flapping_link_beside_it_lose_nothing(
    long_outage: LongOutage,
) -> None:
    """One vessel's link cut for three minutes while another vessel's flaps (cut and restored
    every 10 s for 2 minutes) on the same Connect cluster, both begun before the ten cycles
    above and held beside them: neither loses nor doubles a record, and the cut one's backlog
    drains."""
    outage = long_outage
    cut, flapping = outage.cut, outage.flapping
    outage.hold()
    assert outage.flips, "the flapping ended in an error"
    assert outage.flips[0] >= 6, outage.flips
    during = cut.health()
    assert during.backlog_records > RATE * 60
    assert (during.oldest_unmirrored_age_s or 0) > 60
    cut.emulator.restore(cut.name)
    outage.flap_traffic.stop()
    shore = cut.shore.bootstrap_servers
    dups = arrived_once_in_order(shore, flapping.name, outage.flap_traffic.acked)
    assert sum(dups.values()) == 0, f"the flapping link doubled records: {dups}"
    # The traffic goes on while the backlog drains.
    restored = outage.cut_traffic.acked_count
    wait_until(lambda: outage.cut_traffic.acked_count >= restored + RATE * 5, timeout=120,
               what="more records after the restore")  # fmt: skip
    outage.cut_traffic.stop()
    dups = arrived_once_in_order(shore, cut.name, outage.cut_traffic.acked)
    assert sum(dups.values()) == 0
    wait_until(lambda: cut.health().backlog_records == 0, timeout=120, what="drained")
    outage.close()  # both vessels gone before the shore goes down
