"""What a local broker costs in CPU, by JIT setting: the suite and the demo start dozens of
brokers on 2 cores, so CPU seconds spent compiling are seconds the tests wait.

For each setting, a fresh 3-node cluster: CPU seconds (user + system, all three brokers) to
start, then over ``--seconds`` of a vessel-like load (``--rate`` idempotent acks=all records per
second), and the wall time of the start. The first setting is the baseline; the others are
given as ratios to it, from the same run.

Usage: ``python bench/jvm_cpu.py [--seconds 90] [--rate 200]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psutil
from confluent_kafka import Producer

from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.health import create_topic
from fleetedge.settings import RuntimeSettings

# Brokers run C1 only (runtime/jvm.py); the baseline turns C2 back on (the last flag wins).
SETTINGS = {
    "tiered (C1+C2)": ("-XX:TieredStopAtLevel=4",),
    "C1 only": (),
}


def cpu_seconds(cluster: KafkaCluster) -> float:
    total = 0.0
    for node in cluster.state.nodes:
        if node.pid is not None:
            times = psutil.Process(node.pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def load(bootstrap: str, seconds: float, rate: float) -> tuple[int, int]:
    """Produce ``rate`` records a second for ``seconds``; (sent, acknowledged)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 10})  # fmt: skip
    acked = 0

    def on_delivery(err: object, _msg: object) -> None:
        nonlocal acked
        acked += err is None

    began = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - began) < seconds:
        while sent < elapsed * rate:
            producer.produce("bench.cpu", os.urandom(200), key=str(sent % 50).encode(),
                             on_delivery=on_delivery)  # fmt: skip
            sent += 1
        producer.poll(0.05)
    producer.flush(60)
    return sent, acked


def measure(
    runtime: KafkaRuntime, home: Path, name: str, seconds: float, rate: float
) -> dict[str, float]:
    cluster = KafkaCluster.create(name, home=home, runtime=runtime, ports=free_node_ports(3))
    try:
        began = time.perf_counter()
        cluster.up()
        start_wall = time.perf_counter() - began
        start_cpu = cpu_seconds(cluster)
        create_topic(cluster.bootstrap_servers, "bench.cpu", partitions=3)
        sent, acked = load(cluster.bootstrap_servers, seconds, rate)
        return {
            "start_wall_s": start_wall,
            "start_cpu_s": start_cpu,
            "load_cpu_s": cpu_seconds(cluster) - start_cpu,
            "sent": sent,
            "acked": acked,
        }
    finally:
        cluster.down(purge=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    cfg = RuntimeSettings()
    base = KafkaRuntime(find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb)
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-jvm-"))
    print(f"{base.java.version_line}; {os.cpu_count()} cores; 3 brokers; "
          f"{args.rate:.0f} records/s for {args.seconds:.0f}s")  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    for index, (label, options) in enumerate(SETTINGS.items()):
        runtime = replace(base, extra_options=(*base.extra_options, *options))
        results[label] = measure(runtime, home, f"jvm-{index}", args.seconds, args.rate)
    baseline = next(iter(results.values()))
    for label, r in results.items():
        print(
            f"{label:16} start {r['start_wall_s']:5.1f}s wall, {r['start_cpu_s']:6.1f} CPU-s "
            f"({r['start_cpu_s'] / baseline['start_cpu_s']:.2f}x); load {r['load_cpu_s']:6.1f} "
            f"CPU-s ({r['load_cpu_s'] / baseline['load_cpu_s']:.2f}x); {r['acked']:.0f} of "
            f"{r['sent']:.0f} acked"
        )


if __name__ == "__main__":
    main()
