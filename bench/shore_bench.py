"""Shore analytics with 2 workers against 1, and read-model replay against a raw consume.

Prints, from one run on one single-node cluster (the brokers leave the 2 cores to the workers):
- a raw confluent-kafka consumer of ``fleet.windows`` (no decoding): the baseline;
- the fleet analytics (3 stages, exactly-once, RocksDB + changelogs) with 1 worker, then with
  2 workers of a fresh group on the same input: windows per second from launch to the last
  KPI record, and the 2-to-1 ratio;
- a rebuild of the ``fleet`` read model by replay into SQLite and into PostgreSQL, against a
  raw consume of the same topics: records per second and the ratio.

Usage: ``python bench/shore_bench.py [--vessels 20] [--containers 500] [--windows 12]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import JSON
from fleetedge.events import topics as t
from fleetedge.projections import open_database, rebuild
from fleetedge.projections import rows as projection_rows
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.postgres import PostgresServer
from fleetedge.settings import RuntimeSettings
from fleetedge.shore import AnalyticsConfig, ensure_topics


def produce_input(bootstrap: str, vessels: int, containers: int, windows: int) -> int:
    """Normalized windows and alerts, as the normalizer writes them; returns the window count."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    count = 0
    for seq in range(1, windows + 1):
        for v in range(vessels):
            vessel = f"vessel-{v + 1}"
            for c in range(containers):
                container = f"BE{chr(65 + v // 26 % 26)}{chr(65 + v % 26)}{c:07d}"
                w = window(vessel, container, seq).model_copy(
                    update={
                        "seconds_out_of_range": (c * 7 + seq * 13) % 5 * 60,
                        "seconds_power_off": 60 if (c + seq) % 9 == 0 else 0,
                        "mean_power_kw": 1.5 + (c * seq % 9) / 10,
                    }
                )
                producer.produce(
                    t.FLEET_WINDOWS.name, key=f"{vessel}/{container}", value=JSON.encode(w)
                )
                count += 1
                if c % 50 == 0:
                    a = alert(vessel, container, seq)
                    producer.produce(
                        t.FLEET_ALERTS.name, key=f"{vessel}/{a.alert_id}", value=JSON.encode(a)
                    )
            producer.poll(0)
    producer.flush(120)
    return count


def raw_consume(bootstrap: str, topics: tuple[str, ...]) -> tuple[int, float]:
    """(records, seconds) to read every partition of ``topics`` to its end, no decoding."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    meta = consumer.list_topics(timeout=30)
    parts = [TopicPartition(n, p, 0) for n in topics for p in meta.topics[n].partitions]
    consumer.assign(parts)
    ended: set[tuple[str, int]] = set()
    records = 0
    began = time.perf_counter()
    while len(ended) < len(parts):
        for msg in consumer.consume(10_000, 1.0):
            if msg.error() is None:
                records += 1
            else:
                ended.add((msg.topic(), msg.partition()))
    elapsed = time.perf_counter() - began
    consumer.close()
    return records, elapsed


def analytics_run(bootstrap: str, workers: int, home: Path) -> float:
    """Seconds from launching ``workers`` of a fresh group to their last KPI partial.

    Quix Streams gives output records their input's timestamp, so the end is taken from the
    partials topic's end offsets growing, polled every 0.2 s until the workers exit when idle.
    """
    group = f"bench-{workers}w-{uuid.uuid4().hex[:6]}"
    kpis = f"{group}.kpis"
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetedge.cli",
                "shore",
                "analytics",
                "--bootstrap",
                bootstrap,
                "--group",
                group,
                "--state-dir",
                str(home / group / str(i)),
                "--kpis-topic",
                kpis,
                "--completeness-topic",
                f"{group}.completeness",
                "--exit-when-idle",
                "15",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    high, grew_at = 0, began
    while any(p.poll() is None for p in procs):
        try:
            now_high = sum(
                watcher.get_watermark_offsets(TopicPartition(kpis, p), timeout=5)[1]
                for p in range(t.FLEET_KPIS.partitions)
            )
        except KafkaException:
            now_high = 0  # not created yet
        if now_high > high:
            high, grew_at = now_high, time.monotonic()
        time.sleep(0.2)
    watcher.close()
    if not high:
        raise RuntimeError(f"the analytics wrote no KPIs to {kpis}")
    return grew_at - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vessels", type=int, default=20)
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--replay-only", action="store_true", help="skip the 1-vs-2 workers runs")
    args = parser.parse_args()

    cfg = RuntimeSettings()
    runtime = KafkaRuntime(
        find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb
    )
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    cluster = KafkaCluster.create(
        "bench-shore", home=home, runtime=runtime, ports=free_node_ports(1)
    )
    postgres = PostgresServer(home / "pg", free_ports(1)[0])
    try:
        cluster.up()
        bootstrap = cluster.bootstrap_servers
        ensure_topics(AnalyticsConfig(bootstrap, home, replication_factor=1))
        windows = produce_input(bootstrap, args.vessels, args.containers, args.windows)
        raw_records, raw_s = raw_consume(bootstrap, (t.FLEET_WINDOWS.name,))
        one_s = two_s = 0.0
        if not args.replay_only:
            one_s = analytics_run(bootstrap, 1, home)
            two_s = analytics_run(bootstrap, 2, home)
        # The live group writes fleet.kpi-partials and fleet.completeness for the replay to read.
        subprocess.run(
            [sys.executable, "-m", "fleetedge.cli", "shore", "analytics", "--bootstrap",
             bootstrap, "--state-dir", str(home / "live"), "--exit-when-idle", "15"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        replay_records, replay_raw_s = raw_consume(bootstrap, projection_rows.TOPICS)
        results = {}
        postgres.start()
        for kind, url in (
            ("SQLite", f"sqlite:///{home / 'fleet.db'}"),
            ("PostgreSQL", postgres.url),
        ):
            db = open_database(url)
            result = rebuild(db, bootstrap, deadline_s=1800)
            db.close()
            results[kind] = result
    finally:
        postgres.purge()
        cluster.down(purge=True)

    print(
        f"{windows:,} windows ({args.vessels} vessels x {args.containers} reefers x "
        f"{args.windows} windows), single-node cluster, 2 cores"
    )
    print(f"raw consumer of fleet.windows, no decoding (records/s): {raw_records / raw_s:,.0f}")
    if one_s and two_s:
        one, two = windows / one_s, windows / two_s
        print(f"fleet analytics, 1 worker (windows/s, launch to last KPI): {one:,.0f}")
        print(f"fleet analytics, 2 workers (windows/s, launch to last KPI): {two:,.0f}")
        print(f"2 workers / 1 worker: {two / one:.2f}")
    raw_rate = replay_records / replay_raw_s
    print(f"raw consumer of the read model's topics (records/s): {raw_rate:,.0f}")
    for kind, result in results.items():
        print(
            f"replay into {kind} (records/s): {result.rate:,.0f}  "
            f"ratio {result.rate / raw_rate:.3f} to the raw consumer"
        )


if __name__ == "__main__":
    main()
