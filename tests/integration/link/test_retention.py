"""What retention took aboard during a cut is reported, and shows ashore as a gap. The long
outages (the link's and the shore's): tests/integration/outages/."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from fleetedge.events import topics
from fleetedge.events.codec import decode
from fleetedge.link.audit import audit
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import WEEK_MS, LinkEnv, alter
from tests.support.traffic import EventTraffic
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka


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
