"""Shore analytics scaled out (CPU balance, throughput, latency) and read-model replay speed.

Prints, from one run on one single-node cluster:
- **CPU balance**: the same input processed by 1, 2 and 4 workers of fresh groups; each
  worker's CPU seconds (its rusage at exit), the busiest worker's share, and the total per
  1,000 windows. A worker's fixed cost (start, group join, the idle wait before it exits) is
  measured in the same run by a worker with no input and shown beside the totals.
- **Throughput**: windows per second from launch to the last KPI partial, 2 workers against
  1 (the broker and the workers share the machine's cores: name the limit).
- **Latency**: windows produced at a steady rate into a running pipeline (2 workers and a
  projector into SQLite); a window's arrival in ``fleet.windows`` to its vessel's KPI row in
  the read model counting it, p50 and p99.
- **Replay**: a rebuild of the ``fleet`` read model into SQLite and into PostgreSQL, against a
  raw confluent-kafka consume of the same topics, in each of ``--replays`` runs, with the
  spread of the ratios.

Usage: ``python bench/shore_bench.py [--vessels 400] [--containers 25] [--windows 10]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import JSON
from fleetedge.events import topics as t
from fleetedge.projections import open_database, rebuild
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.base import current_generation
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.postgres import PostgresServer
from fleetedge.settings import RuntimeSettings
from fleetedge.shore import AnalyticsConfig, ensure_topics

IDLE_S = 10  # workers exit after this long with no input


def container_id(v: int, c: int) -> str:
    return f"BE{chr(65 + v // 26 % 26)}{chr(65 + v % 26)}{c:07d}"


def windows_of(vessels: int, containers: int, seq: int) -> list[tuple[str, str, bytes]]:
    """Window ``seq`` of every container (each a change: minutes out of range every time), and
    one alert per vessel."""
    out = []
    for v in range(vessels):
        vessel = f"vessel-{v + 1}"
        for c in range(containers):
            w = window(vessel, container_id(v, c), seq).model_copy(
                update={
                    "seconds_out_of_range": 60 + (c * 7 + seq * 13) % 5 * 60,
                    "seconds_power_off": 60 if (c + seq) % 9 == 0 else 0,
                    "mean_power_kw": 1.5 + (c * seq % 9) / 10,
                }
            )
            out.append((t.FLEET_WINDOWS.name, f"{vessel}/{w.container_id}", JSON.encode(w)))
        a = alert(vessel, container_id(v, 0), seq)
        out.append((t.FLEET_ALERTS.name, f"{vessel}/{a.alert_id}", JSON.encode(a)))
    return out


def produce(bootstrap: str, records: list[tuple[str, str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for i, (topic, key, value) in enumerate(records):
        producer.produce(topic, key=key.encode(), value=value)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(120)


def raw_consume(bootstrap: str, topics: tuple[str, ...]) -> tuple[int, float]:
    """(records, seconds) to read every partition of ``topics`` to its end, no decoding; the
    consumer is set up as the projector's is (read committed, 16 MB fetches)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "fetch.max.bytes": 16 * 1024 * 1024,
        }
    )
    meta = consumer.list_topics(timeout=30)
    parts = [TopicPartition(n, p, 0) for n in topics for p in meta.topics[n].partitions]
    began = time.perf_counter()
    consumer.assign(parts)
    ended: set[tuple[str, int]] = set()
    records = 0
    while len(ended) < len(parts):
        for msg in consumer.consume(10_000, 1.0):
            if msg.error() is None:
                records += 1
            else:
                ended.add((msg.topic(), msg.partition()))
    elapsed = time.perf_counter() - began
    consumer.close()
    return records, elapsed


def worker(
    bootstrap: str, home: Path, group: str, i: int, commit_s: float
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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
            f"{group}.kpis",
            "--completeness-topic",
            f"{group}.completeness",
            "--exit-when-idle",
            str(IDLE_S),
            "--commit-interval",
            str(commit_s),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Run:
    workers: int
    topic: str  # where its KPI partials went
    seconds: float = 0.0  # launch to the last KPI partial
    cpu: list[float] = field(default_factory=list)  # each worker's CPU seconds


def total_changes(bootstrap: str, topic: str) -> int:
    """The fleet's change count in a partials topic: the newest partial of each vessel, summed."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    parts = [TopicPartition(topic, p, 0) for p in range(t.FLEET_KPIS.partitions)]
    consumer.assign(parts)
    newest: dict[str, int] = {}
    ended: set[int] = set()
    while len(ended) < len(parts):
        for msg in consumer.consume(10_000, 1.0):
            if msg.error() is not None:
                ended.add(msg.partition())
                continue
            doc = orjson.loads(msg.value() or b"{}")
            newest[doc["vessel_id"]] = max(newest.get(doc["vessel_id"], 0), doc["seq"])
    consumer.close()
    return sum(newest.values())


def analytics_run(bootstrap: str, workers: int, home: Path, commit_s: float) -> Run:
    """``workers`` of a fresh group over the whole input, until they exit when idle.

    Quix Streams gives output records their input's timestamp, so the end is taken from the
    partials topic's end offsets growing, polled every 0.2 s.
    """
    group = f"bench-{workers}w-{uuid.uuid4().hex[:6]}"
    kpis = f"{group}.kpis"
    began = time.monotonic()
    procs = [worker(bootstrap, home, group, i, commit_s) for i in range(workers)]
    usage: dict[int, float] = {}
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    high, grew_at = 0, began
    while len(usage) < len(procs):
        for p in procs:
            if p.pid in usage:
                continue
            pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                if status:
                    raise RuntimeError(f"a worker of {group} exited with status {status}")
                usage[p.pid] = rusage.ru_utime + rusage.ru_stime
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
    return Run(workers, kpis, grew_at - began, [usage[p.pid] for p in procs])


class LatencyProbe:
    """Windows at a steady rate into the live pipeline; each window's arrival (its delivery
    report) against the moment its vessel's KPI row in the read model counts it."""

    def __init__(self, bootstrap: str, url: str, vessels: int, containers: int) -> None:
        self.bootstrap, self.url = bootstrap, url
        self.vessels, self.containers = vessels, containers
        self.arrived: dict[str, list[float]] = {}  # vessel → arrival times, in order
        self.counted: dict[str, list[float]] = {}  # vessel → when its row counted n changes

    def run(self, seq: int, per_second: float, seconds: float, base: dict[str, int]) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, "acks": "all"})
        records = [r for r in windows_of(self.vessels, self.containers, seq) if "window" in r[0]]
        records = records[: int(per_second * seconds)]
        lock = threading.Lock()

        def delivered(vessel: str) -> object:
            def report(err: object, _msg: object) -> None:
                if err is None:
                    with lock:
                        self.arrived.setdefault(vessel, []).append(time.monotonic())

            return report

        watcher = threading.Thread(target=self._watch, args=(base, len(records)), daemon=True)
        watcher.start()
        began = time.monotonic()
        for i, (topic, key, value) in enumerate(records):
            producer.produce(
                topic, key=key.encode(), value=value, on_delivery=delivered(key.split("/")[0])
            )
            producer.poll(0)
            lag = began + (i + 1) / per_second - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        producer.flush(60)
        watcher.join(300)

    def _watch(self, base: dict[str, int], total: int) -> None:
        deadline = time.monotonic() + 300
        seen = 0
        while seen < total and time.monotonic() < deadline:
            now = time.monotonic()
            for vessel, seq in kpi_rows(self.url).items():
                times = self.counted.setdefault(vessel, [])
                times.extend([now] * (seq - base.get(vessel, 0) - len(times)))
            seen = sum(len(v) for v in self.counted.values())
            time.sleep(0.05)

    def latencies(self) -> list[float]:
        out = []
        for vessel, arrived in self.arrived.items():
            counted = self.counted.get(vessel, [])
            # The n-th change of a vessel is counted once n of its windows have been applied.
            out += [c - a for a, c in zip(sorted(arrived), counted, strict=False)]
        return out


def kpi_rows(url: str) -> dict[str, int]:
    """Each vessel's change count in the read model's live fleet_kpis table."""
    db = open_database(url)
    try:
        gen = current_generation(db)
        if gen is None:
            return {}
        with db.transaction() as cur:
            cur.execute(f"SELECT name, seq FROM g{gen}_fleet_kpis")  # noqa: S608 - fixed name
            return {str(r[0]): int(r[1]) for r in cur.fetchall()}
    finally:
        db.close()


def latency_run(
    bootstrap: str, home: Path, shape: tuple[int, int, int], changes: int
) -> list[float]:
    """The live pipeline (group fleet-analytics, 2 workers, projector into SQLite), caught up
    on the input (its read model counts ``changes``), then probed with windows at 100/s for
    30 s: window ``seq`` of ``vessels`` x ``containers`` (``shape``)."""
    vessels, containers, seq = shape
    url = f"sqlite:///{home / 'live.db'}"
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
                "--state-dir",
                str(home / "live" / str(i)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetedge.cli",
                "shore",
                "project",
                "--bootstrap",
                bootstrap,
                "--database",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        deadline = time.monotonic() + 900
        while sum(kpi_rows(url).values()) < changes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live read model never counted {changes} changes")
            time.sleep(0.5)
        probe = LatencyProbe(bootstrap, url, vessels, containers)
        probe.run(seq, per_second=100, seconds=30, base=kpi_rows(url))
        return probe.latencies()
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report_balance(runs: list[Run], idle: float, windows: int) -> None:
    print(f"\nCPU balance (worker CPU seconds for the same {windows:,} windows; fixed cost of a")
    print(f"worker with no input, start to exit, measured here: {idle:.1f} s)")
    print("workers  each worker (s)                 busiest share  total s  per 1k windows net")
    base = (sum(runs[0].cpu) - idle) / windows * 1000
    for r in runs:
        total = sum(r.cpu)
        net = (total - idle * r.workers) / windows * 1000
        each = " ".join(f"{c:6.1f}" for c in r.cpu)
        print(
            f"{r.workers:7d}  {each:30s}  {max(r.cpu) / total:13.2f}  {total:7.1f}  "
            f"{net:6.3f} ({net / base - 1:+.0%})"
        )


@dataclass
class Results:
    windows: int = 0
    raw_rate: float = 0.0
    idle: float = 0.0
    runs: list[Run] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    replays: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def measure(args: argparse.Namespace) -> Results:
    cfg = RuntimeSettings()
    runtime = KafkaRuntime(
        find_java(cfg.java), KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb
    )
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    cluster = KafkaCluster.create(
        "bench-shore", home=home, runtime=runtime, ports=free_node_ports(1)
    )
    postgres = PostgresServer(home / "pg", free_ports(1)[0])
    out = Results(replays={"SQLite": [], "PostgreSQL": []})
    try:
        cluster.up()
        bootstrap = cluster.bootstrap_servers
        ensure_topics(AnalyticsConfig(bootstrap, home, replication_factor=1))
        # Nothing to read yet: a worker's fixed cost.
        out.idle = sum(analytics_run(bootstrap, 1, home, args.commit_interval).cpu)
        records = [
            r
            for seq in range(1, args.windows + 1)
            for r in windows_of(args.vessels, args.containers, seq)
        ]
        produce(bootstrap, records)
        out.windows = sum(1 for r in records if r[0] == t.FLEET_WINDOWS.name)
        raw_records, raw_s = raw_consume(bootstrap, (t.FLEET_WINDOWS.name,))
        out.raw_rate = raw_records / raw_s
        if not args.replay_only:
            out.runs = [analytics_run(bootstrap, n, home, args.commit_interval) for n in (1, 2, 4)]
            if args.replays:
                changes = total_changes(bootstrap, out.runs[0].topic)
                shape = (args.vessels, args.containers, args.windows + 1)
                out.latencies = latency_run(bootstrap, home, shape, changes)
        else:
            subprocess.run(
                [sys.executable, "-m", "fleetedge.cli", "shore", "analytics", "--bootstrap",
                 bootstrap, "--state-dir", str(home / "live"), "--exit-when-idle", str(IDLE_S)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        if args.replays:
            postgres.start()
        for _ in range(args.replays):
            for kind, url in (
                ("SQLite", f"sqlite:///{home / 'replay.db'}"),
                ("PostgreSQL", postgres.url),
            ):
                raw_n, raw_t = raw_consume(bootstrap, projection_rows.TOPICS)
                db = open_database(url)
                result = rebuild(db, bootstrap, deadline_s=1800)
                db.close()
                out.replays[kind].append((result.rate, raw_n / raw_t))
    finally:
        postgres.purge()
        cluster.down(purge=True)
    return out


def report(args: argparse.Namespace, r: Results) -> None:
    print(
        f"{r.windows:,} windows ({args.vessels} vessels x {args.containers} reefers x "
        f"{args.windows} windows), single-node cluster, {os.cpu_count()} cores"
    )
    print(f"raw consumer of fleet.windows, no decoding (records/s): {r.raw_rate:,.0f}")
    if r.runs:
        report_balance(r.runs, r.idle, r.windows)
        one, two, four = (r.windows / run.seconds for run in r.runs)
        print(
            f"\nthroughput, launch to last KPI (windows/s): 1 worker {one:,.0f}, "
            f"2 workers {two:,.0f}, 4 workers {four:,.0f}; 2 workers / 1 worker: {two / one:.2f}"
        )
    if r.latencies:
        print(
            f"\nlatency, window arrival to its KPI row in the read model ({len(r.latencies)} "
            f"windows at 100/s): p50 {percentile(r.latencies, 0.5):.2f} s, "
            f"p99 {percentile(r.latencies, 0.99):.2f} s"
        )
    print("\nreplay of the fleet read model against a raw consume of the same topics")
    for kind, results in r.replays.items():
        if not results:
            continue
        ratios = [rate / raw for rate, raw in results]
        rates = ", ".join(f"{rate:,.0f}/{raw:,.0f}" for rate, raw in results)
        print(
            f"{kind:10s} records/s (replay/raw) {rates}; ratios "
            f"{', '.join(f'{x:.2f}' for x in ratios)}; min {min(ratios):.2f}, "
            f"spread {max(ratios) - min(ratios):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vessels", type=int, default=400)
    parser.add_argument("--containers", type=int, default=25)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--replays", type=int, default=3, help="0: analytics runs only")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="the workers' (s)")
    parser.add_argument("--replay-only", action="store_true", help="skip the analytics runs")
    args = parser.parse_args()
    report(args, measure(args))


if __name__ == "__main__":
    main()
