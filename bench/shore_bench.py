"""Shore analytics scaled out (CPU balance, throughput, latency) and read-model replay speed.

Prints, from one run on one single-node cluster:
- **CPU balance**: the same input processed by 1, 2 and 4 workers of fresh groups, in
  ``--rounds`` rounds. Each group forms first (its offsets start at the input's end), then
  the input is written; each worker's CPU seconds are counted from the first record written
  to the last KPI partial (from /proc), so start-up, group joins and the idle wait before
  exit count in no run. Printed: each worker's seconds, the busiest worker's share, and the
  total per 1,000 windows against the same round's 1-worker run.
- **Throughput**: windows per second from the first record to the last KPI partial, 2
  workers against 1 (the broker and the workers share the machine's cores: name the limit).
- **Latency**: windows produced at a steady rate into a running pipeline (2 workers and a
  projector into SQLite); a window's arrival in ``fleet.windows`` to its vessel's KPI row in
  the read model counting it, p50 and p99.
- **Replay**: a rebuild of the ``fleet`` read model into SQLite and into PostgreSQL, against a
  raw confluent-kafka consume of the same topics, in each of ``--replays`` runs, with the
  spread of the ratios.

Usage: ``python -m bench.shore_bench [--vessels 400] [--containers 25] [--windows 10]
[--rounds 2] [--replays 3] [--commit-interval 1]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from bench.shore_input import produce, raw_consume, windows_of
from bench.shore_latency import latency_run, percentile
from fleetedge.events import topics as t
from fleetedge.projections import open_database, rebuild
from fleetedge.projections import rows as projection_rows
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.postgres import PostgresServer
from fleetedge.settings import RuntimeSettings
from fleetedge.shore import AnalyticsConfig, ensure_topics

IDLE_S = 10  # workers exit after this long with no input


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
    seconds: float = 0.0  # first input record to the last KPI partial
    cpu: list[float] = field(default_factory=list)  # each worker's CPU seconds over that time


def cpu_seconds(pid: int) -> float:
    """A live process's CPU seconds (user + system, every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_at_end(bootstrap: str, group: str) -> None:
    """Commit ``group``'s offsets at the input topics' current ends, so its workers read only
    what is written after they have formed the group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    ends = []
    for spec in (t.FLEET_WINDOWS, t.FLEET_ALERTS, t.FLEET_LINK):
        for p in range(spec.partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(spec.name, p), timeout=10)
            ends.append(TopicPartition(spec.name, p, high))
    consumer.commit(offsets=ends, asynchronous=False)
    consumer.close()


def group_formed(bootstrap: str, group: str, members: int) -> bool:
    """``members`` workers in a stable group, each holding partitions of fleet.windows, and
    every partition of it held."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except KafkaException:
        return False
    if desc.state != ConsumerGroupState.STABLE or len(desc.members) != members:
        return False
    held = [
        [tp.partition for tp in m.assignment.topic_partitions if tp.topic == t.FLEET_WINDOWS.name]
        for m in desc.members
    ]
    return all(held) and sorted(p for h in held for p in h) == list(
        range(t.FLEET_WINDOWS.partitions)
    )


def analytics_run(
    bootstrap: str,
    workers: int,
    home: Path,
    commit_s: float,
    records: list[tuple[str, str, bytes]],
) -> Run:
    """``workers`` of a fresh group form the group first; then the input is written and they
    process it while it arrives, until they exit when idle. A worker's CPU seconds are taken
    from the first record written to the moment the last KPI partial appeared, so start-up,
    the group join and the idle wait before exit count in no run.

    Quix Streams gives output records their input's timestamp, so the end is taken from the
    partials topic's end offsets growing, polled every 0.2 s.
    """
    group = f"bench-{workers}w-{uuid.uuid4().hex[:6]}"
    kpis = f"{group}.kpis"
    start_at_end(bootstrap, group)
    procs = [worker(bootstrap, home, group, i, commit_s) for i in range(workers)]
    deadline = time.monotonic() + 180
    while not group_formed(bootstrap, group, workers):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"the {workers} workers of {group} never formed their group")
        time.sleep(0.5)
    before = [cpu_seconds(p.pid) for p in procs]
    began = time.monotonic()
    produce(bootstrap, records)
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}"})
    high, grew_at, at_growth, current = 0, began, before, list(before)
    exited: set[int] = set()
    while len(exited) < len(procs):
        # An exited worker keeps its last sample: it did nothing since.
        current = [
            c if p.pid in exited else cpu_seconds(p.pid)
            for p, c in zip(procs, current, strict=True)
        ]
        sample = list(current)
        now_high = sum(
            watcher.get_watermark_offsets(TopicPartition(kpis, p), timeout=5)[1]
            for p in range(t.FLEET_KPIS.partitions)
        )
        if now_high > high:
            high, grew_at, at_growth = now_high, time.monotonic(), sample
        for p in procs:
            if p.pid not in exited and p.poll() is not None:
                if p.returncode:
                    raise RuntimeError(f"a worker of {group} exited with {p.returncode}")
                exited.add(p.pid)
        time.sleep(0.2)
    watcher.close()
    cpu = [end - start for end, start in zip(at_growth, before, strict=True)]
    return Run(workers, kpis, grew_at - began, cpu)


def report_balance(runs: list[Run], windows: int) -> None:
    print(f"\nCPU balance (each worker's CPU seconds for the same {windows:,} windows, from the")
    print("first record written to the last KPI partial; the group formed before the input;")
    print("totals against the 1-worker run of the same round)")
    print("round  workers  each worker (s)                 busiest share  total s  per 1k windows")
    base = 0.0
    for i, r in enumerate(runs):
        total = sum(r.cpu)
        per_k = total / windows * 1000
        if r.workers == 1:
            base = per_k
        each = " ".join(f"{c:6.1f}" for c in r.cpu)
        print(
            f"{i // 3 + 1:5d}  {r.workers:7d}  {each:30s}  {max(r.cpu) / total:13.2f}  "
            f"{total:7.1f}  {per_k:6.3f} ({per_k / base - 1:+.0%})"
        )


@dataclass
class Results:
    windows: int = 0
    raw_rate: float = 0.0
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

        def records(run: int) -> list[tuple[str, str, bytes]]:
            """Run ``run``'s input: the next ``--windows`` windows of every container."""
            first = run * args.windows + 1
            return [
                r
                for seq in range(first, first + args.windows)
                for r in windows_of(args.vessels, args.containers, seq)
            ]

        out.windows = args.vessels * args.containers * args.windows
        runs = 0 if args.replay_only else 3 * args.rounds
        if runs:
            # Rounds of 1, 2 and 4 workers: this machine's speed drifts by a fifth over minutes,
            # so each round's ratios are taken against its own 1-worker run. Each run writes
            # the next windows of the same containers (the same amount of work), so the topics
            # end up as a fleet's history that the live pipeline and the replays read whole.
            out.runs = [
                analytics_run(bootstrap, n, home, args.commit_interval, records(i))
                for i, n in enumerate([1, 2, 4] * args.rounds)
            ]
        else:
            produce(bootstrap, records(0))
        raw_records, raw_s = raw_consume(bootstrap, (t.FLEET_WINDOWS.name,))
        out.raw_rate = raw_records / raw_s
        if not args.replay_only:
            if args.replays:
                shape = (args.vessels, args.containers, runs * args.windows + 1)
                out.latencies = latency_run(bootstrap, home, shape)
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
        report_balance(r.runs, r.windows)
        print("\nthroughput, first record to last KPI (windows/s)")
        for i in range(0, len(r.runs), 3):
            one, two, four = (r.windows / run.seconds for run in r.runs[i : i + 3])
            print(
                f"round {i // 3 + 1}: 1 worker {one:,.0f}, 2 workers {two:,.0f}, 4 workers "
                f"{four:,.0f}; 2 workers / 1 worker: {two / one:.2f}"
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
    parser.add_argument("--rounds", type=int, default=2, help="of 1, 2 and 4 workers")
    parser.add_argument("--replays", type=int, default=3, help="0: analytics runs only")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="the workers' (s)")
    parser.add_argument("--replay-only", action="store_true", help="skip the analytics runs")
    args = parser.parse_args()
    report(args, measure(args))


if __name__ == "__main__":
    main()
