"""One broker can die and nothing acknowledged is lost (after Kafka's replication_test.py)."""

from __future__ import annotations

import re

import pytest

from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until
from tests.support.verifiable import VerifiableProducer, consume_all, verify_delivery

pytestmark = pytest.mark.kafka
PARTITIONS = 3


def test_three_nodes_start_and_a_replicated_topic_is_in_sync(cluster: KafkaCluster, topic_name: str) -> None:
    status = cluster.status()
    assert status.healthy
    assert [n.id for n in status.nodes if n.alive and n.registered] == [1, 2, 3]
    assert status.quorum_leader in {1, 2, 3}

    assert create_topic(cluster.bootstrap_servers, topic_name, partitions=6, replication_factor=3)
    partitions = wait_until(
        lambda: (parts := cluster.metadata().topic(topic_name)) and all(len(p.isr) == 3 for p in parts) and parts,
        timeout=60,
        what="every replica in sync",
    )
    assert len(partitions) == 6
    for p in partitions:
        assert sorted(p.replicas) == [1, 2, 3]
        assert sorted(p.isr) == [1, 2, 3]
    # The cluster defaults hold: a typo'd topic is not created behind our back.
    assert all(p.topic != "no-such-topic" for p in cluster.metadata().partitions)


def test_partition_leader_sigkilled_three_times_loses_nothing(cluster: KafkaCluster, topic_name: str) -> None:
    create_topic(cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3)
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=3000).start()
    killed: list[int] = []
    try:
        for round_no in range(1, 4):
            wait_until(lambda n=round_no: producer.acked_count >= n * 15_000, timeout=120, what="records acked")
            leader = cluster.metadata().topic(topic_name)[0].leader
            cluster.kill_node(leader)
            killed.append(leader)
            acked_at_kill = producer.acked_count
            wait_until(
                lambda old=leader: cluster.metadata().topic(topic_name)[0].leader not in (old, -1),
                timeout=60,
                what="a new leader for partition 0",
            )
            wait_until(
                lambda a=acked_at_kill: producer.acked_count > a + 3000,
                timeout=60,
                what="writes to go on without the killed leader",
            )
            cluster.start_node(leader)
            cluster.wait_in_sync(timeout=180)
        wait_until(lambda: producer.acked_count >= 100_000, timeout=180, what="100,000 records acked")
    finally:
        producer.stop()

    assert len(killed) == 3
    assert producer.failed == []
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name, PARTITIONS))
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
    new_leader, new_epoch = wait_until(
        lambda: (q := cluster.quorum())[0] not in (None, leader) and q,
        timeout=60,
        what="a new quorum leader",
    )
    assert new_epoch > epoch
    assert _kafka_tool_quorum_leader(runtime, cluster) == new_leader
    assert cluster.status().quorum_leader == new_leader

    # Creating a topic needs the active controller; producing acks=all needs two in-sync replicas.
    assert create_topic(cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3)
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=5000).start()
    try:
        wait_until(lambda: producer.acked_count >= 5000, timeout=90, what="writes after the election")
    finally:
        producer.stop()
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name, PARTITIONS))
    assert report.ok, report
    assert producer.failed == []


def test_rolling_restart_while_producing_loses_nothing(cluster: KafkaCluster, topic_name: str) -> None:
    create_topic(cluster.bootstrap_servers, topic_name, partitions=PARTITIONS, replication_factor=3)
    producer = VerifiableProducer(cluster.bootstrap_servers, topic_name, PARTITIONS, rate=2000).start()
    try:
        for node_id in cluster.node_ids:
            cluster.stop_node(node_id)
            assert not cluster.is_alive(node_id)
            acked = producer.acked_count
            wait_until(lambda a=acked: producer.acked_count > a + 2000, timeout=60, what="writes with a node down")
            cluster.start_node(node_id)
            cluster.wait_in_sync(timeout=180)
        acked = producer.acked_count
        wait_until(lambda: producer.acked_count > acked + 2000, timeout=60, what="writes after the restart")
    finally:
        producer.stop()
    assert producer.failed == []
    report = verify_delivery(producer, consume_all(cluster.bootstrap_servers, topic_name, PARTITIONS))
    assert report.ok, report
    assert report.acked > 10_000
