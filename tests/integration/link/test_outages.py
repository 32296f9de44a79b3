"""Outages of the link lose nothing; alerts come first after every cut; what retention took is
reported. The module's first tests run beside its long outage (outage.py). The shore's outage:
tests/integration/test_shore_outage.py."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from fleetedge.events import topics
from fleetedge.events.codec import decode
from fleetedge.link.audit import audit
from fleetedge.link.connectors import connector_name
from fleetedge.link.mirror import BULK
from fleetedge.runtime.reading import end_offset
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import (
    WEEK_MS,
    LinkEnv,
    alter,
    both_running,
)
from tests.integration.link.outage import RATE, LongOutage
from tests.support.traffic import EventTraffic, arrived_once_in_order
from tests.support.verifiable import read_topic

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


def test_records_lost_to_retention_are_reported(linked: LinkEnv) -> None:
    admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topics.AGGREGATES.name)
    traffic = linked.traffic("RETU", containers=10)
    linked.emulator.cut(linked.name)
    try:
        traffic.burst(300)
        # Retention catches up with the outage: only new segments survive.
        fast = {"retention.ms": "1000", "segment.ms": "500"}
        alter(admin, resource, fast)
        # The link health sees the loss while the link is still down.
        lost = wait_until(
            lambda: _roll_and_count_lost(traffic, linked),
            timeout=120,
            what="retention to remove unmirrored records",
            interval=2,
        )
    finally:
        restore = {"retention.ms": topics.AGGREGATES.config["retention.ms"], "segment.ms": WEEK_MS}
        alter(admin, resource, restore)
        linked.emulator.restore(linked.name)
    # The vessel goes on: later windows show ashore that earlier ones never came.
    traffic.burst(20)
    shore_topic = topics.on_shore(linked.name, topics.AGGREGATES)
    wait_until(lambda: linked.health().backlog_records == 0, timeout=120, what="drained")
    values = [m.value() for m in read_topic(linked.shore.bootstrap_servers, shore_topic)]
    mine = [v for v in values if decode(v).source.split("/")[-1].startswith("RETU")]
    report = audit(shore_topic, mine)
    print(report.summary())
    assert report.missing >= lost > 0, "the retention gap must show in the sequence numbers"
    assert "missing" in report.summary()


def _roll_and_count_lost(traffic: EventTraffic, env: LinkEnv) -> int:
    traffic.burst(10)  # a new record rolls the segment once segment.ms has passed
    return env.health().lost_to_retention
