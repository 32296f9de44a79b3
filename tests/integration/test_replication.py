"""One broker can die and nothing acknowledged is lost (after Kafka's replication_test.py)."""

from __future__ import annotations

import re
import threading

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.health import PartitionView, create_topic
from fleetedge.runtime.reading import watermarks
from fleetedge.runtime.waiting import wait_until
from tests.support.verifiable import VerifiableProducer, consume_all, verify_delivery

pytestmark = pytest.mark.kafka
PARTITIONS = 3


def _new_leader(cluster: KafkaCluster, topic: str, old: int) -> int | None:
    """Partition 0's leader once it is someone other than ``old``."""
    leader = cluster.metadata().topic(topic)[0].leader
    return leader if leader not in (old, -1) else None


def test_three_nodes_start_and_a_replicated_topic_is_in_sync(
    cluster: KafkaCluster, topic_name: str
) -> None:
    status = cluster.status()
    assert status.healthy
    assert [n.id for n in status.nodes if n.alive and n.registered] == [1, 2, 3]
    assert status.quorum_leader in {1, 2, 3}

    assert create_topic(cluster.bootstrap_servers, topic_name, partitions=6, replication_factor=3)

    def replicas_in_sync() -> list[PartitionView] | None:
        parts = cluster.metadata().topic(topic_name)
        return parts if parts and all(len(p.isr) == 3 for p in parts) else None

    partitions = wait_until(replicas_in_sync, timeout=60, what="every replica in sync")
    assert len(partitions) == 6
    for p in partitions:
        assert sorted(p.replicas) == [1, 2, 3]
        assert sorted(p.isr) == [1, 2, 3]


def test_partition_leader_sigkilled_three_times_loses_nothing(
    cluster: KafkaCluster, topic_name: str
) -> None:
    create_topic(cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3)
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=3000)
    producer.start()
    killed: list[int] = []
    try:
        for round_no in range(1, 4):
            producer.wait_acked(round_no * 15_000, timeout=120)
            leader = cluster.metadata().topic(topic_name)[0].leader
            cluster.kill_node(leader)
            killed.append(leader)
            acked_at_kill = producer.acked_count
            wait_until(
                lambda: _new_leader(cluster, topic_name, killed[-1]),
                timeout=60,
                what="a new leader for partition 0",
            )
            producer.wait_acked(acked_at_kill + 3000, timeout=60, what="acked without the leader")
            cluster.start_node(leader)
            cluster.wait_in_sync(timeout=180)
        producer.wait_acked(100_000, timeout=180)
    finally:
        producer.stop()

    assert len(killed) == 3
    assert producer.failed == []
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name))
    assert report.acked >= 100_000
    assert report.lost == []
    assert report.duplicated == []
    assert report.out_of_order == {}
    assert report.unexpected == []


def _kafka_tool_quorum_leader(runtime: KafkaRuntime, cluster: KafkaCluster) -> int:
    """The quorum leader as Kafka's own kafka-metadata-quorum tool reports it."""
    code, output = runtime.run_tool(
        "org.apache.kafka.tools.MetadataQuorumCommand",
        ["--bootstrap-server", cluster.bootstrap_servers, "describe", "--status"],
    )
    assert code == 0, output
    match = re.search(r"LeaderId:\s+(\d+)", output)
    assert match, output
    return int(match.group(1))


def test_quorum_leader_sigkilled_a_new_controller_is_elected_and_writes_go_on(
    cluster: KafkaCluster, runtime: KafkaRuntime, topic_name: str
) -> None:
    leader, epoch = cluster.quorum()
    assert leader is not None
    assert _kafka_tool_quorum_leader(runtime, cluster) == leader

    cluster.kill_node(leader)

    def elected() -> tuple[int, int] | None:
        new, new_epoch = cluster.quorum()
        return (new, new_epoch) if new is not None and new != leader else None

    new_leader, new_epoch = wait_until(elected, timeout=60, what="a new quorum leader")
    assert new_epoch > epoch
    assert _kafka_tool_quorum_leader(runtime, cluster) == new_leader
    assert cluster.status().quorum_leader == new_leader

    # Creating a topic needs the active controller; producing acks=all needs two in-sync replicas.
    assert create_topic(
        cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3
    )
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=5000)
    producer.start()
    try:
        producer.wait_acked(5000, timeout=90, what="acked after the election")
    finally:
        producer.stop()
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name))
    assert report.ok, report
    assert producer.failed == []


def test_rolling_restart_while_producing_loses_nothing(
    cluster: KafkaCluster, topic_name: str
) -> None:
    create_topic(cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3)
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=2000)
    producer.start()
    try:
        for node_id in cluster.node_ids:
            cluster.stop_node(node_id)
            assert not cluster.is_alive(node_id)
            producer.wait_acked(producer.acked_count + 2000, timeout=60, what="acked, a node down")
            cluster.start_node(node_id)
            cluster.wait_in_sync(timeout=180)
        producer.wait_acked(producer.acked_count + 2000, timeout=60, what="acked after the restart")
    finally:
        producer.stop()
    assert producer.failed == []
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name))
    assert report.ok, report
    assert report.acked > 10_000


def test_watermarks_of_a_topic_created_meanwhile_are_waited_for(
    cluster: KafkaCluster, topic_name: str
) -> None:
    """A reader asking a just-created topic's end gets UNKNOWN_TOPIC_OR_PART from a broker that
    has not learnt of it yet (a simulator exited so at a demo's start): that is waited out."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": "wm"})
    tp = TopicPartition(topic_name, 0)
    try:
        with pytest.raises(KafkaException, match="Unknown partition"):
            consumer.get_watermark_offsets(tp, timeout=10)  # the client's own call gives up
        later = threading.Timer(
            3.0, create_topic, (cluster.bootstrap_servers, topic_name), {"partitions": 3}
        )
        later.start()
        try:
            assert watermarks(consumer, tp, deadline_s=60) == (0, 0)
        finally:
            later.join()
    finally:
        consumer.close()
