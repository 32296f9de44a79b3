"""The edge against the peer a user would pick: Kafka Streams doing the same window job.

One run, one 3-node cluster, one seeded input (``--containers`` reefers x ``--minutes``
simulated minutes of JSON readings on the one-partition telemetry topic):

1. the baselines: a confluent-kafka consumer that reads the topic, and one that also decodes
   every reading into its event (what any Python consumer of these records must do);
2. the Kafka Streams peer (``bench/peers/kstreams``: exactly-once v2, the windows in a RocksDB
   store with its changelog), as its own JVM;
3. our edge (``fleet edge run``: exactly-once, windows, alert rules, vessel status, dead
   letters), as its own process.

The peer's windows must equal ours, window for window and field for field, before any figure
is printed: the run stops with the differences otherwise. Both processors are timed the same
way, from outside: readings committed per second, from their group's first commit of the
input to the commit of its last reading (start-up excluded for both), and their peak RSS.

Usage: ``.venv/bin/python -m bench.peer_bench [--containers 2500] [--minutes 60]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.edge_bench import topic_bytes
from fleetedge.devices import TelemetryProducer, VesselSimulator, run
from fleetedge.devices.cargo import PROFILES
from fleetedge.edge.logic import EdgeTopics
from fleetedge.events import JSON, decode
from fleetedge.events.aggregates import ContainerWindow
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.reading import read_to_end
from fleetedge.runtime.toolchain import find_maven
from fleetedge.settings import RuntimeSettings

PEER = Path(__file__).parent / "peers" / "kstreams"
PEER_JAR = PEER / "target" / "kstreams-peer-1.jar"
PEER_APP = "peer-edge"
PEER_OUTPUT = "peer.aggregates"
VESSEL = "vessel-1"
EDGE_GROUP = f"edge-{VESSEL}"
# The fields both outputs carry; times as epoch milliseconds.
FIELDS = (
    "event_id", "vessel_id", "container_id", "seq", "window_start_ms", "window_end_ms", "cargo",
    "count", "first_seq", "last_seq", "gaps", "setpoint_c", "supply_min_c", "supply_max_c",
    "supply_mean_c", "return_min_c", "return_max_c", "return_mean_c", "mean_power_kw",
    "seconds_out_of_range", "seconds_door_open", "seconds_defrost", "seconds_power_off", "lat",
    "lon", "slot_s", "out_of_range_slots", "door_open_slots", "defrost_slots", "power_off_slots",
    "reading_slots", "pulp_max_c", "pulp_slots", "treatment",
)  # fmt: skip


@dataclass(frozen=True)
class Timed:
    """A processor's run: readings committed per second once it began, and its peak RSS."""

    rate: float
    peak_rss_mb: float
    seconds: float


def build_peer() -> None:
    """Build the peer with Maven unless its jar is newer than every source file."""
    sources = [*PEER.joinpath("src").rglob("*.java"), PEER / "pom.xml"]
    if PEER_JAR.exists() and all(s.stat().st_mtime < PEER_JAR.stat().st_mtime for s in sources):
        return
    print("building the Kafka Streams peer (Maven)")
    subprocess.run(
        [str(find_maven()), "-q", "-B", "package", "dependency:copy-dependencies",
         "-DincludeScope=runtime"],
        cwd=PEER, check=True,
    )  # fmt: skip


def committed(admin: AdminClient, group: str, topic: str) -> int:
    """The group's committed offset on the topic's one partition (0 before its first)."""
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])
    result = admin.list_consumer_group_offsets([request])[group].result()
    offset: int = result.topic_partitions[0].offset
    return max(offset, 0)


def time_processor(
    proc: subprocess.Popen[bytes],
    admin: AdminClient,
    group: str,
    *,
    topic: str,
    end: int,
    timeout: float = 900,
) -> Timed:
    """Poll the group's commits until they reach ``end``; the rate from its first commit."""
    process = psutil.Process(proc.pid)
    peak = 0
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{group} did not commit its input within {timeout:.0f}s")
        if proc.poll() is not None and committed(admin, group, topic) < end:
            raise RuntimeError(f"{group} exited ({proc.returncode}) before committing its input")
        with_children = [process, *process.children(recursive=True)]
        peak = max(peak, sum(p.memory_info().rss for p in with_children if p.is_running()))
        offset = committed(admin, group, topic)
        now = time.monotonic()
        if first is None and offset > 0:
            first = (now, offset)
        if offset >= end and first is not None:
            seconds = now - first[0]
            return Timed((end - first[1]) / seconds, peak / 2**20, seconds)
        time.sleep(0.05)  # polling the group's commits, not standing in for a condition


def run_peer(
    java: Path, bootstrap: str, *, topic: str, end: int, home: Path, admin: AdminClient
) -> Timed:
    tolerances = ",".join(f"{cargo.value}={p.tolerance_c}" for cargo, p in PROFILES.items())
    classpath = f"{PEER_JAR}:{PEER / 'target' / 'dependency' / '*'}"
    command = [
        str(java), "-Xmx512m", "-cp", classpath, "io.fleetedge.peer.EdgeWindows",
        bootstrap, topic, PEER_OUTPUT, PEER_APP, str(home / "peer-state"), VESSEL, tolerances,
    ]  # fmt: skip
    with (home / "peer.out").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        return time_processor(proc, admin, PEER_APP, topic=topic, end=end)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def run_edge(bootstrap: str, containers: int, end: int, home: Path, admin: AdminClient) -> Timed:
    command = [
        sys.executable, "-m", "fleetedge.cli", "edge", "run", "--vessel", VESSEL,
        "--bootstrap", bootstrap, "--containers", str(containers), "--seed", "1",
    ]  # fmt: skip
    env = {**os.environ, "FLEET_HOME": str(home / "edge-home")}
    with (home / "edge.out").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        return time_processor(proc, admin, EDGE_GROUP, topic=EdgeTopics().telemetry, end=end)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def ours(window: ContainerWindow) -> dict[str, Any]:
    """Our window in the compared fields."""
    doc = json.loads(JSON.encode(window))
    doc["event_id"] = str(window.event_id)
    doc["window_start_ms"] = int(window.window_start.timestamp() * 1000)
    doc["window_end_ms"] = int(window.window_end.timestamp() * 1000)
    doc["gaps"] = [list(g) for g in window.gaps]
    doc["pulp_max_c"] = list(window.pulp_max_c)
    doc["pulp_slots"] = list(window.pulp_slots)
    return {f: doc[f] for f in FIELDS}


def _window(value: bytes) -> ContainerWindow:
    window = decode(value)
    if not isinstance(window, ContainerWindow):
        raise TypeError(f"a {window.KIND} on the aggregates topic")
    return window


def by_window(docs: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(d["container_id"], d["seq"]): d for d in docs}


def differences(mine: list[dict[str, Any]], peer: list[dict[str, Any]]) -> list[str]:
    """What differs between the two outputs, window for window (empty: equal)."""
    a, b = by_window(mine), by_window(peer)
    out = [f"windows only ours: {sorted(a.keys() - b.keys())[:5]}"] if a.keys() - b.keys() else []
    if b.keys() - a.keys():
        out.append(f"windows only the peer's: {sorted(b.keys() - a.keys())[:5]}")
    if len(mine) != len(a) or len(peer) != len(b):
        out.append(f"a window twice: ours {len(mine)} for {len(a)}, peer {len(peer)} for {len(b)}")
    for key in sorted(a.keys() & b.keys()):
        for field in FIELDS:
            if not _same(a[key][field], b[key][field]):
                out.append(f"{key} {field}: ours {a[key][field]!r}, peer {b[key][field]!r}")
    return out


def _same(x: object, y: object) -> bool:
    if isinstance(x, float) or isinstance(y, float):
        return isinstance(x, int | float) and isinstance(y, int | float) and x == y
    return x == y


def recent_start(minutes: int) -> datetime:
    """A start ``minutes`` (and a margin) ago, on a window boundary. Not a fixed date: the
    peer's outputs carry their window's time, and a broker's retention (30 days here) removes
    records older than that, as it removed a whole period in a first run started weeks back."""
    at = datetime.now(UTC) - timedelta(minutes=minutes + 30)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def produce_input(bootstrap: str, topic: str, containers: int, minutes: int) -> None:
    sim = VesselSimulator(VESSEL, containers, seed=1, start=recent_start(minutes))
    with TelemetryProducer(bootstrap, topic, JSON) as producer:
        run(sim, producer, duration=timedelta(minutes=minutes), speedup=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=2500)
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()

    build_peer()
    cfg = RuntimeSettings()
    java = find_java(cfg.java)
    runtime = KafkaRuntime(java, KafkaJars(cfg.cache_dir).require(), cfg.broker_heap_mb)
    home = Path(tempfile.mkdtemp(prefix="fleet-peer-bench-"))
    cluster = KafkaCluster.create(
        "bench-peer", home=home, runtime=runtime, ports=free_node_ports(3)
    )
    topics = EdgeTopics()
    say: Callable[[str], None] = print
    try:
        say("starting a 3-node cluster")
        cluster.up()
        bootstrap = cluster.bootstrap_servers
        admin = AdminClient({"bootstrap.servers": bootstrap})
        create_topic(bootstrap, topics.telemetry, partitions=1, replication_factor=3)
        create_topic(bootstrap, PEER_OUTPUT, partitions=1, replication_factor=3)
        say(f"producing {args.containers} reefers x {args.minutes} simulated minutes")
        produce_input(bootstrap, topics.telemetry, args.containers, args.minutes)
        readings, _, raw_s = topic_bytes(bootstrap, topics.telemetry)
        _, _, decoded_s = topic_bytes(bootstrap, topics.telemetry, decode=True)
        say("the Kafka Streams peer")
        peer = run_peer(
            java.path, bootstrap, topic=topics.telemetry, end=readings, home=home, admin=admin
        )
        say("our edge")
        edge = run_edge(bootstrap, args.containers, readings, home, admin)
        mine = [ours(_window(v)) for v in read_to_end(bootstrap, topics.aggregates)]
        theirs = [json.loads(v) for v in read_to_end(bootstrap, PEER_OUTPUT)]
    finally:
        cluster.down(purge=True)

    diff = differences(mine, theirs)
    if diff or not mine:
        print(f"the outputs differ ({len(diff)} differences, {len(mine)} windows ours):")
        print("\n".join(diff[:20]))
        seqs = sorted({d["seq"] for d in theirs})
        print(f"the peer's windows: {len(theirs)}, periods {seqs}")
        raise SystemExit(1)
    print(f"equal: {len(mine):,} windows, every field, from {readings:,} readings")
    raw, decoded = readings / raw_s, readings / decoded_s
    rows = [
        ("raw consumer, no decoding", raw, None),
        ("consumer decoding each reading (N2 baseline)", decoded, None),
        ("Kafka Streams peer, exactly-once v2, RocksDB + changelog", peer.rate, peer),
        ("our edge, exactly-once, windows + rules + status", edge.rate, edge),
    ]
    for name, rate, timed in rows:
        extra = f"  peak RSS {timed.peak_rss_mb:,.0f} MB over {timed.seconds:.1f}s" if timed else ""
        print(f"{name:58} {rate:>10,.0f} readings/s{extra}")
    print(f"N1 edge / peer:           {edge.rate / peer.rate:.2f}x")
    print(f"N2 edge / decoding alone: {edge.rate / decoded:.2f}x")
    print(f"N5 RSS: peer {peer.peak_rss_mb:,.0f} MB, edge {edge.peak_rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
