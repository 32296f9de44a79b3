"""The link service's reader of Connect's offsets topic, on a real cluster, from before the
topic exists (a fleet starts its link service and its Connect worker together)."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from fleetedge.link.connect import OFFSETS_TOPIC
from fleetedge.link.connectors import connector_name
from fleetedge.link.health import OffsetsTail
from fleetedge.link.mirror import BULK
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.exceptions import ClusterTimeoutError
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until

pytestmark = pytest.mark.kafka
VESSEL = "vessel-h"


def test_a_tail_opened_before_connect_made_its_topic_reads_what_connect_writes_later(
    cluster: KafkaCluster,
) -> None:
    shore = cluster.bootstrap_servers
    tail = OffsetsTail(shore, timeout=10)
    try:
        # No topic yet: the health cannot be known, which is not "nothing mirrored" (that
        # made every record aboard a backlog, and a stall, for the life of the link service).
        with pytest.raises(ClusterTimeoutError, match="does not exist yet"):
            tail.read()
        create_topic(shore, OFFSETS_TOPIC, partitions=5, config={"cleanup.policy": "compact"})
        # What a MirrorMaker 2 task commits: its source partition and the last offset sent.
        name = connector_name(VESSEL, BULK)
        producer = Producer({"bootstrap.servers": shore, "acks": "all"})
        for offset in (40, 41):
            source = {"cluster": VESSEL, "partition": 0, "topic": "reefer.aggregates"}
            producer.produce(OFFSETS_TOPIC, key=json.dumps([name, source]),
                             value=json.dumps({"offset": offset}))  # fmt: skip
        assert producer.flush(30) == 0

        def mirrored() -> dict[tuple[str, int], int] | None:
            try:
                return tail.read().mirrored(VESSEL, [BULK]) or None
            except ClusterTimeoutError:
                return None

        seen = wait_until(mirrored, timeout=60, what="the committed offsets read", interval=1)
        assert seen == {("reefer.aggregates", 0): 42}
    finally:
        tail.close()
        admin = AdminClient({"bootstrap.servers": shore})
        admin.delete_topics([OFFSETS_TOPIC])[OFFSETS_TOPIC].result()
