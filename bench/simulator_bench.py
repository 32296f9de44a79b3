"""The simulator against the raw producer baseline, and bytes per reading by encoding.

Prints, from one run on one 3-node cluster:
- raw baseline: confluent-kafka, idempotent acks=all, pre-built payloads of a JSON reading's size;
- the simulator producing through TelemetryProducer (JSON and binary), as a ratio to the baseline;
- the simulator alone (physics + events, no Kafka), readings/s on one Python thread;
- bytes per reading: JSON and binary, alone and zstd-compressed in batches of 500 (as the
  producer compresses a batch).

Usage: ``python bench/simulator_bench.py [--containers 2500] [--ticks 40]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import zstandard
from confluent_kafka import Producer

from fleetedge.devices import TelemetryProducer, VesselSimulator, run
from fleetedge.events import BINARY, JSON, ReeferReading
from fleetedge.events.codec import Codec
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.health import create_topic
from fleetedge.settings import RuntimeSettings

START = datetime(2026, 11, 1, tzinfo=UTC)
PARTITIONS = 6


def raw_baseline(bootstrap: str, topic: str, records: int, size: int) -> float:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "zstd",
            "linger.ms": 50,
            "queue.buffering.max.messages": 500_000,
        }
    )
    payload = b"x" * size
    keys = [f"FEXU{i:07d}".encode() for i in range(2500)]
    began = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, payload, key=keys[i % 2500])
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120):
        raise SystemExit("baseline records unacknowledged")
    return records / (time.perf_counter() - began)


def simulated(bootstrap: str, topic: str, codec: Codec, containers: int, ticks: int) -> float:
    sim = VesselSimulator("vessel-1", containers, seed=1, start=START)
    producer = TelemetryProducer(bootstrap, topic, codec)
    stats = run(sim, producer, duration=ticks * sim.interval, speedup=0)
    return stats.readings_per_second


def generation_only(containers: int, ticks: int) -> float:
    sim = VesselSimulator("vessel-1", containers, seed=1, start=START)
    began = time.perf_counter()
    n = sum(len(sim.next_readings()) for _ in range(ticks))
    return n / (time.perf_counter() - began)


def sizes(readings: list[ReeferReading]) -> dict[str, float]:
    zstd = zstandard.ZstdCompressor(level=3)
    out: dict[str, float] = {}
    for codec in (JSON, BINARY):
        encoded = [codec.encode(r) for r in readings]
        out[codec.name] = sum(map(len, encoded)) / len(encoded)
        batches = [b"".join(encoded[i : i + 500]) for i in range(0, len(encoded), 500)]
        out[f"{codec.name}+zstd"] = sum(len(zstd.compress(b)) for b in batches) / len(encoded)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=2500)
    parser.add_argument("--ticks", type=int, default=40)
    args = parser.parse_args()
    records = args.containers * args.ticks

    sim = VesselSimulator("vessel-1", args.containers, seed=1, start=START)
    for _ in range(30):  # half an hour in: defrosts and faults have begun
        readings = sim.next_readings()
    size = sizes(readings)
    gen = generation_only(args.containers, args.ticks)

    cfg = RuntimeSettings()
    runtime = KafkaRuntime(
        find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb
    )
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    cluster = KafkaCluster.create("bench-sim", home=home, runtime=runtime, ports=free_node_ports(3))
    try:
        cluster.up()
        bootstrap = cluster.bootstrap_servers
        for topic in ("raw", "sim-json", "sim-binary", "warm"):
            create_topic(bootstrap, topic, partitions=PARTITIONS)
        raw_baseline(bootstrap, "warm", 20_000, 480)
        raw = raw_baseline(bootstrap, "raw", records, round(size["json"]))
        sim_json = simulated(bootstrap, "sim-json", JSON, args.containers, args.ticks)
        sim_bin = simulated(bootstrap, "sim-binary", BINARY, args.containers, args.ticks)
    finally:
        cluster.down(purge=True)

    print(f"{records:,} readings ({args.containers} reefers x {args.ticks} simulated minutes)")
    print(f"raw producer baseline, {size['json']:.0f}-byte records (records/s): {raw:,.0f}")
    print(f"simulator -> Kafka, JSON (readings/s): {sim_json:,.0f}  ratio {sim_json / raw:.2f}")
    print(f"simulator -> Kafka, binary (readings/s): {sim_bin:,.0f}  ratio {sim_bin / raw:.2f}")
    print(f"simulator alone, no Kafka (readings/s): {gen:,.0f}")
    print(
        f"a {args.containers}-reefer vessel reading once a simulated minute at 60x needs "
        f"{args.containers:,}/s: {sim_json / args.containers:.1f}x headroom (JSON)"
    )
    for name, value in size.items():
        print(f"bytes per reading, {name}: {value:.1f}")
    per_day = size["binary+zstd"] * args.containers * 24 * 60 / 1e6
    print(f"raw telemetry of {args.containers} reefers, 1/min, binary+zstd: {per_day:.1f} MB/day")


if __name__ == "__main__":
    main()
