"""Records, configs, commands and heartbeats cross the link once and in order; the probe sees
cuts; Connect's refusals are clear."""

from __future__ import annotations

import time

import pytest
from bench.link_bench import outage_heartbeats, records_aboard
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from fleetedge.events import topics
from fleetedge.link.connect import OFFSETS_TOPIC
from fleetedge.link.exceptions import ConnectRestError, ConnectUnavailable
from fleetedge.link.health import OffsetsTail, mirrored_offsets
from fleetedge.link.mirror import UPLINKS, commands_topic
from fleetedge.link.probe import LinkProbe
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import HEARTBEATS_ABOARD
from fleetedge.runtime.reading import end_offset
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import LinkEnv
from tests.support.traffic import arrived_once_in_order
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka


def test_every_record_arrives_once_in_order(linked: LinkEnv) -> None:
    traffic = linked.traffic("NRMU", rate=200).start()
    wait_until(lambda: traffic.acked_count >= 4000, timeout=120, what="4000 records acked")
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert dups == {topics.AGGREGATES.name: 0, topics.ALERTS.name: 0}


def test_the_offsets_tail_reads_only_what_is_new_and_agrees_with_a_whole_read(
    linked: LinkEnv,
) -> None:
    shore = linked.shore.bootstrap_servers
    tail = OffsetsTail(shore)
    try:
        before = tail.read().mirrored(linked.name, UPLINKS)
        traffic = linked.traffic("OFSU", rate=100).start()
        wait_until(lambda: traffic.acked_count >= 300, timeout=60, what="300 records acked")
        traffic.stop()
        arrived_once_in_order(shore, linked.name, traffic.acked)

        def data(offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
            # Heartbeats are mirrored every second: only the records' topics hold still.
            return {at: offset for at, offset in offsets.items() if at[0] != "heartbeats"}

        def agreed() -> bool:
            # The connector's offsets commit after its records: wait for both reads to agree.
            now = data(tail.read().mirrored(linked.name, UPLINKS))
            whole = data(mirrored_offsets(shore, linked.name, UPLINKS))
            return now != data(before) and now == whole

        wait_until(agreed, timeout=60, what="the tail and a whole read agree", interval=1)
        total = end_offset(shore, OFFSETS_TOPIC)
        tail.read()
        assert tail.records_read < total, "a later read must not start from the beginning"
    finally:
        tail.close()


def test_mirrored_partitions_and_configs_match_the_vessel(linked: LinkEnv) -> None:
    admin = AdminClient({"bootstrap.servers": linked.shore.bootstrap_servers})
    for spec in (topics.AGGREGATES, topics.ALERTS, topics.STATUS):
        name = topics.on_shore(linked.name, spec)
        wait_until(lambda: name in admin.list_topics(timeout=10).topics, timeout=60, what=name)  # noqa: B023
        assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == spec.partitions
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        config = admin.describe_configs([resource])[resource].result()
        assert config["retention.ms"].value == spec.config["retention.ms"]
    # Offset syncs live ashore: nothing but the records crosses the link.
    vessel_admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
    assert not [t for t in vessel_admin.list_topics(timeout=10).topics if "offset-syncs" in t]


def test_command_from_shore_reaches_the_vessel_once(linked: LinkEnv) -> None:
    producer = Producer({"bootstrap.servers": linked.shore.bootstrap_servers, "acks": "all"})
    aboard = f"shore.{commands_topic(linked.name)}"

    def send() -> bytes:
        marker = f"cmd-{time.time_ns()}".encode()
        producer.produce(commands_topic(linked.name), marker, linked.name.encode())
        assert producer.flush(30) == 0
        return marker

    def values() -> list[bytes]:
        admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
        if aboard not in admin.list_topics(timeout=10).topics:
            return []
        return [m.value() for m in read_topic(linked.vessel.bootstrap_servers, aboard)]

    first = send()
    wait_until(lambda: first in values(), timeout=120, what="the command aboard", interval=2)
    # A later command aboard means the flow has moved past the first: it is there once still.
    later = send()
    wait_until(lambda: later in values(), timeout=120, what="a later command aboard", interval=2)
    now = values()
    assert (now.count(first), now.count(later)) == (1, 1)
    # Its herder found the plugins by their manifests: no minute-long reflective scan.
    assert linked.link.downlink is not None
    started = (linked.link.downlink.log_dir / "server.log").read_text()
    assert "ServiceLoaderScanner" in started
    assert "ReflectionScanner" not in started
    # Its one worker's offsets and status aboard take one partition each, not 25 and 5.
    internal = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers}).list_topics(
        timeout=10
    )
    sizes = {name: len(m.partitions) for name, m in internal.topics.items() if "mm2-" in name}
    assert sizes == {
        "mm2-configs.shore.internal": 1,
        "mm2-offsets.shore.internal": 1,
        "mm2-status.shore.internal": 1,
    }


def test_heartbeats_come_ashore_and_the_backlog_is_empty(linked: LinkEnv) -> None:
    def fresh() -> bool:
        health = linked.health()
        age = health.last_heartbeat_age_s
        return age is not None and age < 10 and health.backlog_records == 0

    wait_until(fresh, timeout=120, what="a fresh heartbeat and no backlog", interval=2)


def test_an_outages_heartbeats_are_compacted_aboard_and_the_flow_drains_past_the_gaps(
    linked: LinkEnv,
) -> None:
    """The downlink writes a heartbeat aboard every 5 s through a cut. Kafka's cleaner keeps
    a few of them (the topic rolls a segment a minute), not all, for the priority flow to
    carry ashore after it; the flow reads past the offsets the cleaner removed."""
    aboard = linked.vessel.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": aboard})
    resource = ConfigResource(ConfigResource.Type.TOPIC, HEARTBEATS_ABOARD)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert (configs["cleanup.policy"].value, configs["segment.ms"].value) == ("compact", "60000")
    linked.emulator.cut(linked.name)
    try:
        # Half an hour of them, stamped 5 s apart from now as the downlink writes them through
        # the half hour to come (the stamps roll the segments; the broker takes stamps up to an
        # hour ahead of its clock). The cut lasts seconds: the test makes the half hour's worth.
        written = 30 * 60 // 5
        outage_heartbeats(aboard, written, int(time.time() * 1000))
        left = wait_until(
            lambda: (n := records_aboard(aboard, HEARTBEATS_ABOARD)) <= 30 and n,
            timeout=120,
            what="the cleaner's pass over the heartbeats aboard",
            interval=2,
        )
    finally:
        linked.emulator.restore(linked.name)
    print(f"heartbeats aboard after the cleaner: {left} of {written}")

    def drained() -> bool:
        health = linked.health()
        age = health.last_heartbeat_age_s
        return age is not None and age < 15 and health.backlog_records == 0

    wait_until(drained, timeout=180, what="a fresh heartbeat ashore and no backlog", interval=2)


def test_the_link_probe_sees_each_cut_and_each_restore(linked: LinkEnv) -> None:
    # One long-lived connection, as the link service keeps per vessel, through three cuts.
    probe = LinkProbe(linked.link.link_bootstrap)
    try:
        assert probe.answers()
        for cycle in range(3):
            linked.emulator.cut(linked.name)
            wait_until(lambda: not probe.answers(), timeout=30,
                       what=f"cut {cycle}: the probe sees the cut")  # fmt: skip
            linked.emulator.restore(linked.name)
            wait_until(probe.answers, timeout=30, what=f"cut {cycle}: the probe answers again")
    finally:
        probe.close()


def test_connect_refusals_are_one_clear_line_and_change_nothing(linked: LinkEnv) -> None:
    before = set(linked.connect.connectors())
    bad = {**next(iter(linked.link.connectors.values())), "connector.class": "no.such.Connector"}
    with pytest.raises(ConnectRestError) as refused:
        linked.connect.put_config("not-a-vessel.priority", bad)
    assert refused.value.status == 400
    assert "no.such.Connector" in refused.value.message
    assert "\n" not in refused.value.message
    assert not refused.value.retriable
    assert set(linked.connect.connectors()) == before
    # Connect not answering at all is retriable, and says which worker did not answer.
    with pytest.raises(ConnectUnavailable) as away:
        ConnectRest(["http://127.0.0.1:9"], timeout=5).connectors()
    assert away.value.retriable
    assert "127.0.0.1:9" in away.value.message
    assert "\n" not in away.value.message
