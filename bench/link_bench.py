"""The link: backlog drain against bandwidth, the first alert after reconnection, link bytes.

One vessel and one shore cluster (3 nodes each), the link emulator and the supervised
MirrorMaker 2 flows, as `fleet up` runs them. The link is shaped (default 64 kbit/s each way,
600 ms round trip) and cut while an hour of a simulated 2,500-reefer vessel's edge output is
produced aboard: its 15-minute windows (10,000 records, in the link's compact layout), its
status of every minute, what Kafka's cleaner leaves of the downlink's heartbeat of every 5 s
(copies of a real one: see ``HEARTBEATS_LEFT``), and one alert. Then the link is restored and
the run prints:

- how long after reconnection the alert is ashore, and how much of the backlog still waits;
- the drain: records/s and link utilisation (bytes through the uplink's kernel class against
  the shaped rate), from reconnection to an empty backlog;
- the baseline, measured in the same run over the same link: a raw confluent-kafka consumer
  reading the same 10,000 records through the link with the same fetch size;
- bytes on the link per container-day, from each drain's link bytes: windows, status,
  heartbeats, the alert and the protocol while they cross (cycle 1, and the median and range
  of all cycles).

Usage: ``.venv/bin/python -m bench.link_bench [--kbps 64] [--latency-ms 600] [--reefers 2500]
[--repeat 10] [--mtu 1500] [--downlink aboard|across]`` (each cycle: cut, queue the backlog and
an alert, restore, drain). It needs root, for the kernel's traffic control (as `fleet link shape`
does) and for the loopback's frame size, which it sets to a real link's for the run: see
``link_frames``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.frames import link_frames
from bench.shore_latency import percentile
from fleetedge.devices import VesselSimulator
from fleetedge.devices.synthetic import alert
from fleetedge.edge.logic import EdgeLogic
from fleetedge.edge.store import DictStore
from fleetedge.events import JSON, ReadingValidator, topics
from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.link.connectors import connector_name
from fleetedge.link.emulator import LinkEmulator, Shape
from fleetedge.link.health import LinkHealth, encode_heartbeat, measure
from fleetedge.link.mirror import BULK, UPLINKS
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import HEARTBEATS_ABOARD, vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until
from fleetedge.security import acls, clients
from fleetedge.security import fleet as security
from fleetedge.security.clients import kafka_config
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings


def edge_backlog(vessel: str, reefers: int, hours: int) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, value) of what the edge writes for ``hours`` of a simulated vessel: its
    windows (the link's compact layout) and its status of every minute (binary). Real windows,
    not copies of one: their values vary as a voyage's do, which is what a compressor sees. The
    edge's own alerts are left out; the bench's marker alert stands for them."""
    sim = VesselSimulator(vessel, reefers, seed=11, start=datetime(2026, 11, 1, tzinfo=UTC))
    validator = ReadingValidator(vessel, sim.container_ids, max_future=timedelta(days=36500))
    logic, store = EdgeLogic(vessel, validator), DictStore()
    records: list[tuple[str, bytes, bytes]] = []
    offset = 0
    # The hour's last windows close once their 5 minutes of grace have passed.
    for _ in range(60 * hours + 6):
        for reading in sim.next_readings():
            for out in logic.handle(store, JSON.encode(reading), 0, offset):
                if out.topic in (topics.AGGREGATES.name, topics.STATUS.name):
                    records.append((out.topic, out.key, out.value))
            offset += 1
    windows = [r for r in records if r[0] == topics.AGGREGATES.name]
    if len(windows) != reefers * 4 * hours:
        raise RuntimeError(f"{len(windows)} windows, expected {reefers * 4 * hours}")
    return records


def produce_backlog(bootstrap: str, backlog: list[tuple[str, bytes, bytes]]) -> int:
    """The backlog as the edge writes it (idempotent, lz4, which the brokers compress again as
    the topics say; the windows closing together in one batch, each status alone, as the live
    edge's transactions are); the count of windows."""
    producer = Producer(
        {
            **kafka_config(bootstrap),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 50,
        }
    )
    count = 0
    for topic, key, value in backlog:
        producer.produce(topic, value, key)
        if topic == topics.STATUS.name:
            producer.flush(30)
        else:
            count += 1
    producer.flush(120)
    return count


HEARTBEAT_S = 5  # the downlink's interval (link/mirror.py)
# What an hour's outage leaves of the downlink's 720 heartbeats aboard once Kafka's cleaner has
# had the hour (their topic rolls a segment a minute, link/setup.py): the open segment's minute
# (12), the minute the cleaner has not reached yet (12), and the one it keeps of all the rest.
# The cut here lasts a minute, not an hour, so the bench writes what the cleaner leaves; the
# cleaner getting there is tested for real (tests/integration/link/test_flow.py).
HEARTBEATS_LEFT = 25


def outage_heartbeats(bootstrap: str, count: int, first_ms: int) -> None:
    """``count`` copies of the downlink's newest heartbeat aboard, each alone in its batch as
    the downlink writes them, their record times 5 s apart from ``first_ms``. Their values say
    now: a copy never passes for a heartbeat newer than the downlink's own. (The record times
    are what roll the topic's minute-long segments.)"""
    consumer = Consumer({**kafka_config(bootstrap), "group.id": f"bench-{uuid.uuid4()}"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(HEARTBEATS_ABOARD, 0), 10)
        if high <= low:
            raise RuntimeError("no heartbeat aboard yet: is the downlink running?")
        consumer.assign([TopicPartition(HEARTBEATS_ABOARD, 0, high - 1)])
        real = None
        while real is None or real.error() is not None:
            real = consumer.poll(10)
    finally:
        consumer.close()
    producer = Producer({**kafka_config(bootstrap), "acks": "all", "linger.ms": 0})
    value = encode_heartbeat(int(time.time() * 1000))
    for i in range(count):
        at = first_ms + i * HEARTBEAT_S * 1000
        producer.produce(HEARTBEATS_ABOARD, value, real.key(), timestamp=at)
        producer.flush(30)


def records_aboard(bootstrap: str, topic: str) -> int:
    """How many records a read of ``topic`` from its start finds (a compacted topic's offsets
    have gaps)."""
    consumer = Consumer({**kafka_config(bootstrap), "group.id": f"bench-{uuid.uuid4()}"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), 10)
        consumer.assign([TopicPartition(topic, 0, low)])
        count, position = 0, low
        while position < high:
            msg = consumer.poll(5)
            if msg is None:
                raise RuntimeError(f"{topic}: nothing read at offset {position} of {high}")
            if msg.error() is None:
                count += 1
                position = msg.offset() + 1
        return count
    finally:
        consumer.close()


def alert_ashore(shore: str, topic: str, marker: str, deadline: float) -> float | None:
    """Seconds until a record with ``marker`` is ashore in ``topic`` (tailing from now)."""
    consumer = Consumer(
        {
            **kafka_config(shore),
            "group.id": f"bench-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    began = time.monotonic()
    try:
        # Assigned, not subscribed: a group join would add its own delay to the figure.
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None and marker.encode() in msg.value():
                return time.monotonic() - began
    finally:
        consumer.close()
    return None


def raw_drain(link_bootstrap: str, topic: str, partitions: int, records: int) -> float:
    """Seconds for a raw consumer to read ``records`` through the link (bulk fetch sizes)."""
    consumer = Consumer(
        {
            **kafka_config(link_bootstrap),
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.max.bytes": BULK.fetch_max_bytes,
            "max.partition.fetch.bytes": BULK.fetch_max_bytes,
            "message.max.bytes": BULK.fetch_max_bytes,  # librdkafka: fetch.max.bytes >= it
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    began = time.monotonic()
    got = 0
    while got < records and time.monotonic() - began < 1800:
        got += sum(1 for m in consumer.consume(1000, timeout=1.0) if m.error() is None)
    consumer.close()
    return time.monotonic() - began


class Rig:
    """A vessel and a shore behind the link, supervised, as `fleet up` runs them; ``secure``:
    the shore and the vessel's link listener on SASL_SSL, with the fleet's principals;
    ``downlink_aboard``: the downlink as deployed, aboard (``vessel_link``), not across the link
    as the local fleet runs it."""

    def __init__(
        self,
        runtime: KafkaRuntime,
        binary: Path,
        home: Path,
        *,
        secure: bool = False,
        downlink_aboard: bool = False,
    ) -> None:
        self.store = SecurityStore(home)
        self.secure = secure
        self.downlink_aboard = downlink_aboard
        self.vessel = KafkaCluster.create(
            "vessel-b",
            home=home,
            runtime=runtime,
            ports=free_node_ports(3, link=True),
            security=security.vessel_security(self.store, "vessel-b") if secure else None,
        )
        self.shore = KafkaCluster.create(
            "shore",
            home=home,
            runtime=runtime,
            ports=free_node_ports(3),
            security=security.shore_security(self.store, "shore") if secure else None,
        )
        self.emulator = LinkEmulator(home / "link", binary, free_ports(1)[0])
        self.runtime = runtime
        self.home = home
        self.stop = threading.Event()
        self.supervisor: LinkSupervisor | None = None
        self.connect: ConnectGroup | None = None
        self._watch: threading.Thread | None = None
        self.rest: ConnectRest | None = None
        self.link_bootstrap = ""

    def start(self) -> None:
        self.vessel.up()
        self.shore.up()
        credentials = None
        if self.secure:
            name = self.vessel.name
            security.provision_services(self.store, self.shore.bootstrap_servers)
            security.add_vessel(
                self.store,
                name,
                shore_bootstrap=self.shore.bootstrap_servers,
                vessel_bootstrap=self.vessel.bootstrap_servers,
            )
            credentials = security.auth(self.store, name)
        self.emulator.start()
        identity = security.auth(self.store, acls.CONNECT).java() if self.secure else {}
        self.connect = ConnectGroup(
            self.runtime,
            self.home / "link" / "connect",
            ConnectSettings(self.shore.bootstrap_servers, self.shore.replication_factor, identity),
            free_ports(1),
        )
        rest = self.rest = self.connect.start()
        link = vessel_link(
            self.runtime,
            self.home / "link" / "connect",
            self.emulator,
            self.vessel,
            self.shore,
            downlink_port=free_ports(1)[0],
            credentials=credentials,
            downlink_aboard=self.downlink_aboard,
        )
        self.link_bootstrap = link.link_bootstrap
        self.supervisor = LinkSupervisor([link], rest)
        self._watch = threading.Thread(
            target=self.supervisor.run, args=(self.stop, 1.0), daemon=True
        )
        self._watch.start()
        wait_until(
            lambda: self.health().last_heartbeat_age_s is not None,
            timeout=180,
            what="the link up",
            interval=2,
        )

    def health(self) -> LinkHealth:
        return measure(
            self.vessel.name, self.vessel.bootstrap_servers, self.shore.bootstrap_servers, UPLINKS
        )

    def close(self) -> None:
        self.stop.set()
        if self._watch is not None:  # its round in progress ends before its clients close
            self._watch.join(timeout=60)
        if self.supervisor is not None:
            self.supervisor.close()
        if self.connect is not None:
            self.connect.stop()
        self.emulator.stop()
        for cluster in (self.vessel, self.shore):
            clients.forget(cluster.bootstrap_servers)
            cluster.down(purge=True)
        clients.forget(self.link_bootstrap or "-")


@dataclass(frozen=True)
class Cycle:
    """One cut and restore: the first alert's delay, the backlog then, the drain and its bytes."""

    first_alert_s: float | None
    waiting: int
    drain_s: float
    link_bytes: int


def bulk_held(rig: Rig) -> bool:
    """Whether Connect reports the vessel's bulk connector's task paused."""
    if rig.rest is None:
        return False
    state = rig.rest.status(connector_name(rig.vessel.name, BULK))
    return state is not None and state.tasks_paused


def cycle(rig: Rig, backlog: list[tuple[str, bytes, bytes]], number: int) -> tuple[Cycle, int]:
    """Cut the link, queue the backlog, an outage's heartbeats and an alert aboard, restore
    it; the cycle, and how many windows it queued."""
    name = rig.vessel.name
    aboard = rig.vessel.bootstrap_servers
    rig.emulator.cut(name)
    windows = produce_backlog(aboard, backlog)
    outage_heartbeats(aboard, HEARTBEATS_LEFT, int(time.time() * 1000) - HEARTBEATS_LEFT * 5000)
    marker = alert(name, "BNCU0000001", number)
    producer = Producer({**kafka_config(rig.vessel.bootstrap_servers), "acks": "all"})
    producer.produce(topics.ALERTS.name, JSON.encode(marker), b"BNCU0000001")
    producer.flush(30)
    # A real outage lasts long enough for the link service to see it and hold the bulk
    # connector; this one lasts as long as the backlog takes to write, so wait for that.
    wait_until(lambda: bulk_held(rig), timeout=120, what="the bulk held during the cut")
    up0, _ = rig.emulator.sent_bytes(name)
    shore_alerts = topics.on_shore(name, topics.ALERTS)
    rig.emulator.restore(name)
    restored = time.monotonic()
    first_alert = alert_ashore(
        rig.shore.bootstrap_servers, shore_alerts, str(marker.alert_id), restored + 600
    )
    waiting = rig.health().backlog_records
    wait_until(lambda: rig.health().backlog_records == 0, timeout=3600, what="drained", interval=1)
    drain_s = time.monotonic() - restored
    up1, _ = rig.emulator.sent_bytes(name)
    return Cycle(first_alert, waiting, drain_s, up1 - up0), windows


def idle_bytes(rig: Rig, seconds: float) -> tuple[int, int]:
    """Bytes each way through the link while nothing is produced aboard: the protocol's floor
    (heartbeats, idle fetches, topic refreshes, the link service's probe).

    Measured once the link's queues are empty: a consumer that closes mid-fetch leaves its
    response queued in the kernel class, which still sends it at the link's rate (a first
    version of this measure counted a closed raw consumer's prefetch as idle chatter)."""
    name = rig.vessel.name
    wait_until(lambda: rig.emulator.queued_bytes(name) == (0, 0), timeout=600,
               what="the link's queues empty", interval=1)  # fmt: skip
    time.sleep(30)  # then let the clients that just closed or reconnected go quiet
    up0, down0 = rig.emulator.sent_bytes(rig.vessel.name)
    time.sleep(seconds)  # the measured interval itself, not a wait for a condition
    up1, down1 = rig.emulator.sent_bytes(rig.vessel.name)
    return up1 - up0, down1 - down0


def run(rig: Rig, args: argparse.Namespace) -> None:
    name = rig.vessel.name
    rig.emulator.shape(name, Shape(kbps=args.kbps, latency_ms=args.latency_ms))
    cycles: list[Cycle] = []
    windows = 0
    backlog = edge_backlog(name, args.reefers, args.hours)
    for number in range(1, args.repeat + 1):
        done, windows = cycle(rig, backlog, number)
        cycles.append(done)
        shown = f"{done.first_alert_s:.1f} s" if done.first_alert_s is not None else "not ashore"
        print(f"cycle {number}: first alert {shown}, {done.waiting} records still aboard then; "
              f"drain {done.drain_s:.1f} s, {done.link_bytes:,} bytes up")  # fmt: skip
    first = cycles[0]
    utilisation = first.link_bytes * 8 / (args.kbps * 1000 * first.drain_s)
    raw_s = raw_drain(
        rig.link_bootstrap, topics.AGGREGATES.name, topics.AGGREGATES.partitions, windows
    )

    def per_container_day(c: Cycle) -> float:
        return float(c.link_bytes / args.reefers / args.hours * 24)

    each_day = sorted(per_container_day(c) for c in cycles)
    delays = [c.first_alert_s for c in cycles if c.first_alert_s is not None]

    print(f"link: {args.kbps} kbit/s each way, {args.latency_ms} ms round trip")
    print(f"backlog: {windows} windows ({args.hours} h of {args.reefers} reefers) + 1 alert")
    if delays:
        print(
            f"first alert ashore after reconnection, {len(cycles)} cycles: "
            f"p50 {percentile(delays, 0.5):.1f} s, p90 {percentile(delays, 0.9):.1f} s, "
            f"max {max(delays):.1f} s; {len(cycles) - len(delays)} not ashore in 600 s"
        )
        print("  each, fastest first: " + ", ".join(f"{d:.1f}" for d in sorted(delays)))
    print(
        f"MirrorMaker 2 drain (cycle 1): {first.drain_s:.1f} s, "
        f"{windows / first.drain_s:.1f} windows/s"
    )
    print(
        f"  link bytes up: {first.link_bytes}, utilisation of {args.kbps} kbit/s: "
        f"{100 * utilisation:.0f} %"
    )
    print(
        f"raw consumer over the same link: {raw_s:.1f} s, {windows / raw_s:.1f} windows/s;"
        f" MirrorMaker 2 / raw = {raw_s / first.drain_s:.2f}"
    )
    print(
        f"bytes on the link per container-day (windows every 15 min, with status, heartbeats"
        f" and protocol): cycle 1 {per_container_day(first):,.0f}; of {len(cycles)} cycles "
        f"median {percentile(each_day, 0.5):,.0f}, least {each_day[0]:,.0f}, "
        f"most {each_day[-1]:,.0f}"
    )
    if args.idle_seconds > 0:
        up, down = idle_bytes(rig, args.idle_seconds)
        day = 86_400 / args.idle_seconds
        print(
            f"the idle link over {args.idle_seconds:.0f} s (nothing produced aboard): "
            f"{up:,} bytes up, {down:,} down; a day of it is {up * day / args.reefers:,.0f} "
            f"bytes up and {down * day / args.reefers:,.0f} down per container-day"
        )


def make_rig(*, downlink_aboard: bool = False) -> Rig:
    """A rig (not started) from this machine's runtime, in a fresh temporary home."""
    cfg = RuntimeSettings()
    runtime = KafkaRuntime(find_java(cfg.java), KafkaJars(cfg.cache_dir).require())
    binary = ToxiproxyBinary(cfg.cache_dir.parent)
    binary.install()
    home = Path(tempfile.mkdtemp(prefix="fleet-link-bench-"))
    return Rig(runtime, binary.path, home, downlink_aboard=downlink_aboard)


def main() -> None:
    parser = argparse.ArgumentParser(description="link drain, first alert, link bytes")
    parser.add_argument("--kbps", type=int, default=64)
    parser.add_argument("--latency-ms", type=int, default=600)
    parser.add_argument("--reefers", type=int, default=2500)
    parser.add_argument("--hours", type=int, default=1, help="backlog, in hours of windows")
    parser.add_argument("--repeat", type=int, default=1, help="cut-and-restore cycles")
    parser.add_argument(
        "--idle-seconds", type=float, default=60, help="then measure the idle link this long"
    )
    parser.add_argument("--mtu", type=int, default=1500, help="the link's frames (on lo)")
    parser.add_argument(
        "--downlink",
        choices=("aboard", "across"),
        default="aboard",
        help="where the downlink runs: aboard, as deployed (docs/deploy.md; its reads of the "
        "shore then do not cross the emulated link), or across the link, as the local fleet "
        "runs it so that a cut holds commands back",
    )
    args = parser.parse_args()
    rig = make_rig(downlink_aboard=args.downlink == "aboard")
    with link_frames(args.mtu):
        try:
            rig.start()
            run(rig, args)
        finally:
            rig.close()


if __name__ == "__main__":
    main()
