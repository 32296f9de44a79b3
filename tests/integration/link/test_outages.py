"""Outages of the link and of the shore lose nothing; what retention took is reported."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from fleetedge.events import topics
from fleetedge.events.codec import decode
from fleetedge.link.audit import audit
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import (
    OUTAGE_S,
    WEEK_MS,
    LinkEnv,
    alter,
    both_running,
    produce_through_outage,
)
from tests.support.traffic import EventTraffic, arrived_once_in_order
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka


@pytest.mark.slow
def test_a_three_minute_cut_and_a_flapping_link_beside_it_lose_nothing(
    linked: LinkEnv, beside: LinkEnv
) -> None:
    """One vessel's link cut for three minutes while another vessel's flaps (cut and restored
    every 10 s for 2 minutes) on the same Connect cluster: neither loses nor doubles a record,
    and the cut one's backlog drains. Both at once: each waits out the other's minutes."""
    traffic = linked.traffic("OUTU", rate=40).start()
    flapping = beside.traffic("FLPU", rate=40).start()
    wait_until(lambda: both_running(beside), timeout=180, what="the second vessel's tasks")
    wait_until(lambda: traffic.acked_count >= 200, timeout=60, what="traffic before the cut")
    linked.emulator.cut(linked.name)
    stop = threading.Event()
    flips: list[int] = []

    def flap() -> None:
        flips.append(beside.emulator.flap(beside.name, every=10, duration=120, stop=stop))

    flapper = threading.Thread(target=flap)
    flapper.start()
    try:
        produce_through_outage(traffic, rate=40)
    finally:
        stop.set()  # ends at once only if the outage failed before its 120 s of flapping
        flapper.join()
    assert flips, "the flapping ended in an error"
    assert flips[0] >= 6, flips
    during = linked.health()
    assert during.backlog_records > 40 * 60
    assert (during.oldest_unmirrored_age_s or 0) > 60
    linked.emulator.restore(linked.name)
    flapping.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, beside.name, flapping.acked)
    assert sum(dups.values()) == 0, f"the flapping link doubled records: {dups}"
    # The traffic goes on while the backlog drains.
    wait_until(lambda: traffic.acked_count >= 200 + 40 * (OUTAGE_S + 5), timeout=120, what="more")
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert sum(dups.values()) == 0
    wait_until(lambda: linked.health().backlog_records == 0, timeout=120, what="drained")


@pytest.mark.slow
def test_shore_down_three_minutes_recovers_without_help(linked: LinkEnv) -> None:
    traffic = linked.traffic("SHDU", rate=40).start()
    wait_until(lambda: traffic.acked_count >= 200, timeout=60, what="traffic before the outage")
    for node in linked.shore.node_ids:
        linked.shore.kill_node(node)
    produce_through_outage(traffic, rate=40)
    linked.shore.up()  # all three nodes at once: one alone has no quorum to register with
    linked.shore.wait_in_sync(timeout=180)
    traffic.stop()
    dups = arrived_once_in_order(
        linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=600
    )
    assert sum(dups.values()) == 0


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
