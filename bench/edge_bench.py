"""The edge processor against a raw consumer of the same topic, and what it saves the link.

Prints, from one run on one 3-node cluster:
- raw baseline: a confluent-kafka consumer reading the telemetry topic (no decoding);
- the edge service (decode, validate, windows, rules, exactly-once transactions) on that topic,
  as a ratio to the baseline;
- bytes per container-day of aggregates plus alerts (what crosses the link) against the raw
  readings (what stays on board).

Usage: ``python bench/edge_bench.py [--containers 2500] [--minutes 60]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from fleetedge.devices import TelemetryProducer, VesselSimulator, run
from fleetedge.edge.logic import EdgeLogic, EdgeTopics
from fleetedge.edge.service import EdgeService
from fleetedge.events import JSON, ReadingValidator
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.settings import RuntimeSettings

START = datetime(2026, 11, 1, tzinfo=UTC)


def topic_bytes(bootstrap: str, topic: str, decode: bool = False) -> tuple[int, int, float]:
    """(records, value bytes, seconds to read them all) for a one-partition topic; ``decode``
    also turns each value into its event, as any Python consumer of these records must."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    tp = TopicPartition(topic, 0)
    _, high = consumer.get_watermark_offsets(tp, timeout=30)
    consumer.assign([TopicPartition(topic, 0, 0)])
    records = size = position = 0
    began = time.perf_counter()
    while position < high:
        for msg in consumer.consume(10_000, timeout=1.0):
            if msg.error():
                continue
            records += 1
            size += len(msg.value())
            if decode:
                JSON.decode(msg.value())
            position = msg.offset() + 1
        position = max(position, consumer.position([tp])[0].offset)
    elapsed = time.perf_counter() - began
    consumer.close()
    return records, size, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=2500)
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()

    cfg = RuntimeSettings()
    runtime = KafkaRuntime(
        find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb
    )
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    cluster = KafkaCluster.create(
        "bench-edge", home=home, runtime=runtime, ports=free_node_ports(3)
    )
    try:
        cluster.up()
        bootstrap = cluster.bootstrap_servers
        topics = EdgeTopics()
        sim = VesselSimulator("vessel-1", args.containers, seed=1, start=START)
        validator = ReadingValidator(
            "vessel-1", sim.container_ids, max_future=timedelta(days=36500)
        )
        service = EdgeService(
            EdgeLogic("vessel-1", validator, topics=topics),
            bootstrap=bootstrap,
            group_id="bench-edge",
            transactional_id="bench-edge",
        )
        service.ensure_topics()
        with TelemetryProducer(bootstrap, topics.telemetry, JSON) as producer:
            run(sim, producer, duration=timedelta(minutes=args.minutes), speedup=0)

        raw_records, raw_bytes, raw_s = topic_bytes(bootstrap, topics.telemetry)
        _, _, decoded_s = topic_bytes(bootstrap, topics.telemetry, decode=True)
        service.start()
        began = time.perf_counter()
        while not (service.step() == 0 and service.caught_up()):
            pass
        edge_s = time.perf_counter() - began
        service.close()
        _, agg_bytes, _ = topic_bytes(bootstrap, topics.aggregates)
        alerts, alert_bytes, _ = topic_bytes(bootstrap, topics.alerts)
    finally:
        cluster.down(purge=True)

    container_days = args.containers * args.minutes / (24 * 60)
    raw_rate, edge_rate = raw_records / raw_s, raw_records / edge_s
    print(
        f"{raw_records:,} readings ({args.containers} reefers x {args.minutes} simulated minutes)"
    )
    print(f"raw consumer, no decoding (records/s): {raw_rate:,.0f}")
    decoded_rate = raw_records / decoded_s
    print(f"raw consumer + decoding each event (records/s): {decoded_rate:,.0f}")
    print(
        f"edge service, exactly-once (readings/s): {edge_rate:,.0f}  "
        f"ratio {edge_rate / raw_rate:.3f} to the raw consumer, "
        f"{edge_rate / decoded_rate:.2f} to decoding alone"
    )
    print(f"alert events: {alerts}")
    print(f"raw readings per container-day (bytes, JSON): {raw_bytes / container_days:,.0f}")
    print(
        f"aggregates + alerts per container-day (bytes as written: windows compact, alerts JSON): "
        f"{(agg_bytes + alert_bytes) / container_days:,.0f}  "
        f"ratio {(agg_bytes + alert_bytes) / raw_bytes:.3f}"
    )


if __name__ == "__main__":
    main()
