"""Link health per vessel: what is waiting aboard, how old it is, how fast it drains.

The backlog is measured against MirrorMaker 2's own committed source offsets (the Connect
cluster's offsets topic ashore, read committed), not against a consumer group, so it is exactly what
MirrorMaker 2 will resume from. Offsets on the vessel include the edge's transaction markers,
so ``backlog_records`` may overstate by one per open transaction; it never understates.

Records that retention removed before they were mirrored are counted in
``lost_to_retention`` (the log start passed the mirrored offset): MirrorMaker 2 skips them
silently, so this number, and the sequence audit ashore, are how the loss is made visible.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from fleetedge.link.connect import OFFSETS_TOPIC
from fleetedge.link.connectors import connector_name
from fleetedge.link.mirror import Flow
from fleetedge.runtime.exceptions import ClusterError, ClusterTimeoutError
from fleetedge.runtime.reading import partitions_of, watermarks
from fleetedge.runtime.retry import transient_error
from fleetedge.security.clients import kafka_config

PartitionKey = tuple[str, int]


FETCH_WAIT_MS = 20


def _consumer(bootstrap: str, **extra: Any) -> Consumer:
    return Consumer(
        {
            **kafka_config(bootstrap),
            "group.id": f"fleetedge-link-health-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "socket.timeout.ms": 10_000,
            # A broker answers a connection's requests in order: a watermark query sent while
            # a fetch waits at the end of a partition waited out the fetch's wait (500 ms by
            # default), so a look that asks a few dozen of them took 3 to 7 seconds.
            "fetch.wait.max.ms": FETCH_WAIT_MS,
            "logger": _quiet,
            **extra,
        }
    )


class QuietLogger:
    """A librdkafka logger that drops its lines: link probes outlive the brokers they watch,
    and their connection errors are the expected state, not news."""

    def log(self, *args: object) -> None:
        """Drop the line."""


_quiet = QuietLogger()
LOOK_S = 15.0  # how long one look at a vessel's partitions may wait out a leader election


def mirrored_offsets(
    shore_bootstrap: str, vessel: str, flows: Iterable[Flow]
) -> dict[PartitionKey, int]:
    """The next vessel offset each uplink will mirror, from Connect's offsets topic (written in
    the same transactions as the records, so read committed), read whole: a one-off look."""
    tail = OffsetsTail(shore_bootstrap)
    try:
        return tail.read().mirrored(vessel, flows)
    finally:
        tail.close()


class OffsetsTail:
    """Connect's offsets topic ashore, read from its start once and then only what is new.

    The link service looks every few seconds, and the topic grows by a record for every
    transaction of every uplink task: reading it whole each time cost more with every hour
    the fleet ran. Any error drops the reader; the next :meth:`read` starts over.
    """

    def __init__(self, shore_bootstrap: str, timeout: float = 30.0) -> None:
        self.shore_bootstrap = shore_bootstrap
        self.timeout = timeout
        self._consumer: Consumer | None = None
        # The watermarks are asked by a client of their own, which never fetches: a broker
        # answers a connection's requests in order, so on the reader's own connection each
        # question waited out the reader's fetch parked at the end (up to 500 ms apiece).
        self._marks: Consumer | None = None
        self._next: dict[int, int] = {}  # partition -> next offset to read
        self._eof_at: dict[int, int] = {}  # partition -> offset where it last read as ended
        self._latest: dict[tuple[str, str, PartitionKey], int] = {}  # (connector, cluster, tp)
        self.records_read = 0  # by the last read

    def read(self) -> OffsetsTail:
        """Read up to the topic's current end; raises (and starts over next time) on an error."""
        try:
            self._read()
        except Exception:
            self.close()
            raise
        return self

    def newest_heartbeat_ms(self, vessel: str) -> int | None:
        """:func:`last_heartbeat_ms` on this reader's second client: a fresh client per look
        paid a TLS handshake and a SCRAM exchange with each broker it met, every few seconds
        for every vessel (about half of a test fleet's new connections to its shore, whose
        brokers spent a quarter of their CPU on TLS handshakes and SASL)."""
        if self._consumer is None or self._marks is None:
            self._consumer, self._marks = self._open()
        try:
            return newest_heartbeat_ms(self._marks, vessel)
        except Exception:
            self.close()
            raise

    def mirrored(self, vessel: str, flows: Iterable[Flow]) -> dict[PartitionKey, int]:
        names = {connector_name(vessel, flow) for flow in flows}
        return {
            at: offset
            for (name, cluster, at), offset in self._latest.items()
            if name in names and cluster == vessel
        }

    def close(self) -> None:
        for client in (self._consumer, self._marks):
            if client is not None:
                client.close()
        self._consumer = self._marks = None
        self._next.clear()
        self._eof_at.clear()
        self._latest.clear()

    def _open(self) -> tuple[Consumer, Consumer]:
        # The link service's principal may use groups named fleetedge-link-* (security.acls).
        marks = self._marks = _consumer(self.shore_bootstrap)
        deadline = time.monotonic() + self.timeout
        parts = partitions_of(marks, OFFSETS_TOPIC, deadline_s=self.timeout)
        if not parts:
            # Connect creates the topic at its first start. A reader assigned no partitions
            # would read "nothing mirrored" for good: every record aboard a backlog, a stall.
            raise ClusterTimeoutError(f"{OFFSETS_TOPIC} does not exist yet")
        self._next = dict.fromkeys(parts, 0)
        for p in parts:  # a compacted topic starts above 0
            low, _ = watermarks(marks, TopicPartition(OFFSETS_TOPIC, p),
                                deadline_s=max(1.0, deadline - time.monotonic()))  # fmt: skip
            self._next[p] = low
        # Between reads it waits at the end as long as a fetch may (not the looks' 20 ms).
        consumer = _consumer(self.shore_bootstrap, **{"enable.partition.eof": True,
                                                      "fetch.wait.max.ms": 500})  # fmt: skip
        consumer.assign([TopicPartition(OFFSETS_TOPIC, p, low) for p, low in self._next.items()])
        return consumer, marks

    def _read(self) -> None:
        if self._consumer is None or self._marks is None:
            self._consumer, self._marks = self._open()
        consumer, marks = self._consumer, self._marks
        deadline = time.monotonic() + self.timeout
        self.records_read = 0
        ends = {
            p: watermarks(marks, TopicPartition(OFFSETS_TOPIC, p), deadline_s=self.timeout)[1]
            for p in self._next
        }
        while True:
            batch = consumer.consume(5000, 0.2)
            for message in batch:
                p = message.partition()
                error = message.error()
                if error is None:
                    self._next[p] = message.offset() + 1
                    self.records_read += 1
                    self._apply(message.key(), message.value())
                elif error.code() == KafkaError._PARTITION_EOF:
                    # Past the transaction markers, which a reader never sees as records.
                    self._next[p] = max(self._next[p], message.offset())
                    self._eof_at[p] = message.offset()
                elif not transient_error(error):
                    raise ClusterError(f"reading {OFFSETS_TOPIC}: {error}")
            # Read committed: an open transaction holds a partition short of its high
            # watermark, where it reads as ended (EOF) without reaching it.
            behind = [
                p
                for p, end in ends.items()
                if self._next[p] < end and self._eof_at.get(p) != self._next[p]
            ]
            if not behind:  # at the end the topic had when this read began
                return
            if time.monotonic() > deadline:
                raise ClusterTimeoutError(f"reading {OFFSETS_TOPIC} fell behind its end")

    def _apply(self, key_bytes: bytes | None, value: bytes | None) -> None:
        key = json.loads(key_bytes or b"null")
        if not isinstance(key, list) or len(key) != 2 or not isinstance(key[1], dict):
            return
        name, partition = key
        if "cluster" not in partition or "topic" not in partition:
            return
        at = (str(partition["topic"]), int(partition["partition"]))
        slot = (str(name), str(partition["cluster"]), at)
        if value is None:
            self._latest.pop(slot, None)
        else:
            self._latest[slot] = int(json.loads(value)["offset"]) + 1


def decode_heartbeat(value: bytes) -> int:
    """The emit time (epoch ms) in a MirrorMaker 2 heartbeat value (int16 version, int64 ms)."""
    _version, millis = struct.unpack(">hq", value[:10])
    return int(millis)


def encode_heartbeat(millis: int, version: int = 0) -> bytes:
    """A MirrorMaker 2 heartbeat value emitted at ``millis`` (the inverse of the above)."""
    return struct.pack(">hq", version, millis)


def last_heartbeat_ms(shore_bootstrap: str, vessel: str) -> int | None:
    """Emit time of the newest heartbeat that came ashore from ``vessel``, or None."""
    consumer = _consumer(shore_bootstrap)
    try:
        return newest_heartbeat_ms(consumer, vessel)
    finally:
        consumer.close()


def newest_heartbeat_ms(consumer: Consumer, vessel: str) -> int | None:
    """:func:`last_heartbeat_ms` on a client of the caller's (left unassigned)."""
    topic = f"{vessel}.heartbeats"
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return None
    newest: int | None = None
    for partition in metadata.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        if high <= low:
            continue
        consumer.assign([TopicPartition(topic, partition, max(low, high - 8))])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                if consumer.position([TopicPartition(topic, partition)])[0].offset >= high:
                    break
                continue
            if message.error() is None and message.value():
                stamp = decode_heartbeat(message.value())
                newest = stamp if newest is None else max(newest, stamp)
        consumer.unassign()
    return newest


@dataclass
class PartitionBacklog:
    topic: str
    partition: int
    log_start: int
    log_end: int
    next_to_mirror: int
    backlog: int
    lost_to_retention: int
    oldest_unmirrored_ms: int | None


@dataclass
class LinkHealth:
    vessel: str
    checked_at_ms: int
    vessel_reachable: bool
    backlog_records: int = 0
    backlog_bytes: int = 0
    oldest_unmirrored_age_s: float | None = None
    lost_to_retention: int = 0
    last_heartbeat_age_s: float | None = None
    drain_rate_rps: float | None = None
    eta_s: float | None = None
    partitions: list[PartitionBacklog] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample(consumer: Consumer, tp: TopicPartition, count: int) -> list[Any]:
    consumer.assign([tp])
    found: list[Any] = []
    deadline = time.monotonic() + 5
    while len(found) < count and time.monotonic() < deadline:
        batch = consumer.consume(count - len(found), 0.3)
        found.extend(m for m in batch if m.error() is None)
        if not batch:
            break
    consumer.unassign()
    return found


def measure(
    vessel: str,
    vessel_bootstrap: str,
    shore_bootstrap: str,
    flows: Sequence[Flow],
    offsets: OffsetsTail | None = None,
) -> LinkHealth:
    """One look at the link of ``vessel``: backlog per partition, its age and size. A caller
    that looks again and again passes its own ``offsets`` reader, read on from last time."""
    now_ms = int(time.time() * 1000)
    health = LinkHealth(vessel=vessel, checked_at_ms=now_ms, vessel_reachable=True)
    if offsets is None:
        mirrored = mirrored_offsets(shore_bootstrap, vessel, flows)
        beat = last_heartbeat_ms(shore_bootstrap, vessel)
    else:
        mirrored = offsets.read().mirrored(vessel, flows)
        beat = offsets.newest_heartbeat_ms(vessel)
    health.last_heartbeat_age_s = None if beat is None else max(0.0, (now_ms - beat) / 1000)
    consumer = _consumer(vessel_bootstrap)
    oldest: list[int] = []
    sizes: list[int] = []
    deadline = time.monotonic() + LOOK_S
    try:
        for flow in flows:
            for topic in flow.topics:
                # A leader being elected is waited out, not read as a topic with nothing aboard.
                left = max(1.0, deadline - time.monotonic())
                for partition in partitions_of(consumer, topic, deadline_s=left):
                    tp = TopicPartition(topic, partition)
                    left = max(1.0, deadline - time.monotonic())
                    low, high = watermarks(consumer, tp, deadline_s=left)
                    start = mirrored.get((topic, partition), 0)
                    lost = max(0, low - start)
                    backlog = max(0, high - max(start, low))
                    stamp = None
                    if backlog:
                        sample = _sample(
                            consumer, TopicPartition(topic, partition, max(start, low)), 50
                        )
                        if sample:
                            stamp = sample[0].timestamp()[1]
                            oldest.append(stamp)
                            sizes.extend(
                                len(m.value() or b"") + len(m.key() or b"") for m in sample
                            )
                    health.partitions.append(
                        PartitionBacklog(topic, partition, low, high, start, backlog, lost, stamp)
                    )
    except (KafkaException, ClusterError):
        health.vessel_reachable = False
    finally:
        consumer.close()
    health.backlog_records = sum(p.backlog for p in health.partitions)
    health.lost_to_retention = sum(p.lost_to_retention for p in health.partitions)
    if sizes:
        health.backlog_bytes = round(health.backlog_records * sum(sizes) / len(sizes))
    if oldest:
        health.oldest_unmirrored_age_s = max(0.0, (now_ms - min(oldest)) / 1000)
    return health


class DrainTracker:
    """Drain rate and time to drain, from successive looks at the mirrored offsets."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, int]] = deque()

    def update(self, health: LinkHealth) -> LinkHealth:
        mirrored = sum(p.next_to_mirror for p in health.partitions)
        now = health.checked_at_ms / 1000
        self._points.append((now, mirrored))
        while self._points and now - self._points[0][0] > self.window_s:
            self._points.popleft()
        first_t, first_n = self._points[0]
        if now - first_t >= 1.0:
            rate = max(0.0, (mirrored - first_n) / (now - first_t))
            health.drain_rate_rps = rate
            if health.backlog_records == 0:
                health.eta_s = 0.0
            elif rate > 0:
                health.eta_s = health.backlog_records / rate
        return health
