"""Baselines of the local Kafka runtime: cold start, broker RSS, raw-client throughput.

Prints the figures later benchmarks compare against:
- cold start of a 3-node KRaft cluster (format + start + first acks=all write), seconds;
- RSS of each broker JVM, idle and after the load, MiB;
- produce throughput of 100-byte records through confluent-kafka, idempotent acks=all, and the
  ratio to acks=1 without idempotence measured in the same run;
- consume throughput of the same topic from the start.

Usage: ``python bench/cluster_bench.py [--records 500000] [--starts 2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from confluent_kafka import Consumer, Producer, TopicPartition

from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.health import create_topic
from fleetedge.settings import RuntimeSettings

PAYLOAD = os.urandom(100)
PARTITIONS = 6


def rss_mib(cluster: KafkaCluster) -> list[float]:
    return [
        psutil.Process(pid).memory_info().rss / 2**20
        for n in cluster.state.nodes
        if (pid := n.pid) is not None
    ]


def produce(bootstrap: str, topic: str, records: int, *, acks_all: bool) -> float:
    """Records per second for ``records`` 100-byte records, until all are acknowledged."""
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "batch.size": 262144,
        "queue.buffering.max.messages": 1_000_000,
    }
    config.update(
        {"enable.idempotence": True, "acks": "all"}
        if acks_all
        else {"enable.idempotence": False, "acks": "1"}
    )
    producer = Producer(config)
    failures = 0

    def on_delivery(err: object, _msg: object) -> None:
        nonlocal failures
        failures += err is not None

    started = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, PAYLOAD, partition=i % PARTITIONS, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 1000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    if remaining or failures:
        raise SystemExit(f"produce lost records: {remaining} unflushed, {failures} failed")
    return records / elapsed


def consume(bootstrap: str, topic: str, records: int) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = 0
    started = time.perf_counter()
    deadline = started + 300
    while seen < records and time.perf_counter() < deadline:
        seen += sum(1 for m in consumer.consume(10_000, timeout=1.0) if not m.error())
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < records:
        raise SystemExit(f"consumed only {seen} of {records}")
    return records / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--starts", type=int, default=2, help="cold starts to time")
    args = parser.parse_args()

    cfg = RuntimeSettings()
    runtime = KafkaRuntime(
        find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb
    )
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    print(f"Kafka: {runtime.java.version_line}; heap {runtime.heap_mb} MiB; {os.cpu_count()} cores")

    starts: list[float] = []
    cluster: KafkaCluster | None = None
    try:
        for attempt in range(args.starts):
            if cluster is not None:
                cluster.down(purge=True)
            cluster = KafkaCluster.create(
                f"bench-{attempt}", home=home, runtime=runtime, ports=free_node_ports(3)
            )
            began = time.perf_counter()
            cluster.up()
            starts.append(time.perf_counter() - began)
        if cluster is None:
            raise SystemExit("--starts must be at least 1")
        idle = rss_mib(cluster)

        bootstrap = cluster.bootstrap_servers
        create_topic(bootstrap, "bench.acks-all", partitions=PARTITIONS)
        create_topic(bootstrap, "bench.acks-1", partitions=PARTITIONS)
        produce(bootstrap, "bench.acks-1", 20_000, acks_all=False)  # warm the JVMs up
        acks1 = produce(bootstrap, "bench.acks-1", args.records, acks_all=False)
        acks_all = produce(bootstrap, "bench.acks-all", args.records, acks_all=True)
        consumed = consume(bootstrap, "bench.acks-all", args.records)
        loaded = rss_mib(cluster)
    finally:
        if cluster is not None:
            cluster.down(purge=True)

    mb = len(PAYLOAD) / 1e6
    print(
        f"cold start, 3-node cluster (s): {', '.join(f'{s:.1f}' for s in starts)}"
        f"  (median {statistics.median(starts):.1f})"
    )
    print(f"broker RSS idle (MiB): {', '.join(f'{r:.0f}' for r in idle)}")
    print(f"broker RSS after load (MiB): {', '.join(f'{r:.0f}' for r in loaded)}")
    print(f"produce acks=1 (records/s): {acks1:,.0f}  ({acks1 * mb:.1f} MB/s payload)")
    print(
        f"produce idempotent acks=all (records/s): {acks_all:,.0f}  ({acks_all * mb:.1f} MB/s)"
        f"  ratio to acks=1: {acks_all / acks1:.2f}"
    )
    print(f"consume (records/s): {consumed:,.0f}  ({consumed * mb:.1f} MB/s)")


if __name__ == "__main__":
    main()
