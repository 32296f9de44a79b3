"""Real edge events for the link tests: numbered windows per container, alerts now and then.

Each container is a sequence source; the producer records which numbers Kafka acknowledged, per
topic and source, so the shore's copy can be checked for loss, duplicates and order.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import topics
from fleetedge.events.alerts import Alert
from fleetedge.events.base import Event
from fleetedge.events.codec import JSON, decode
from fleetedge.runtime.waiting import wait_until
from tests.support.verifiable import read_topic

Acked = dict[str, dict[str, list[int]]]


class EventTraffic:
    """Produce windows for ``containers`` containers round-robin at ``rate`` per second."""

    def __init__(
        self,
        bootstrap: str,
        vessel: str,
        owner: str,
        *,
        containers: int = 40,
        rate: float = 50.0,
        alert_every: int = 25,
    ) -> None:
        self.vessel = vessel
        self.ids = [f"{owner}{i:07d}" for i in range(1, containers + 1)]
        self.rate = rate
        self.alert_every = alert_every
        self.acked: Acked = defaultdict(lambda: defaultdict(list))
        self.failed: list[str] = []
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "compression.type": "zstd",
                "message.timeout.ms": 600_000,
            }
        )
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self._seq: dict[tuple[str, str], int] = defaultdict(int)

    @property
    def acked_count(self) -> int:
        with self._lock:
            return self._count

    def start(self) -> EventTraffic:
        self._thread.start()
        return self

    def produce(self, topic: str, event: Event, key: str) -> None:
        source = f"{event.kind}:{event.source}"

        def done(err: KafkaError | None, _msg: Message) -> None:
            with self._lock:
                if err is None:
                    self.acked[topic][source].append(event.seq)
                    self._count += 1
                else:
                    self.failed.append(f"{topic} {source} {event.seq}: {err}")

        self._producer.produce(topic, JSON.encode(event), key.encode(), on_delivery=done)
        self._producer.poll(0)

    def next_seq(self, topic: str, container: str) -> int:
        self._seq[(topic, container)] += 1
        return self._seq[(topic, container)]

    def burst(self, windows: int) -> None:
        """Produce ``windows`` windows at once (a backlog), synchronously."""
        for i in range(windows):
            container = self.ids[i % len(self.ids)]
            seq = self.next_seq(topics.AGGREGATES.name, container)
            self.produce(topics.AGGREGATES.name, window(self.vessel, container, seq), container)
            if i % 1000 == 0:
                self._producer.flush(60)
        self._producer.flush(120)

    def one_alert(self) -> Alert:
        container = self.ids[0]
        event = alert(self.vessel, container, self.next_seq(topics.ALERTS.name, container))
        self.produce(topics.ALERTS.name, event, container)
        self._producer.flush(60)
        return event

    def stop(self, timeout: float = 600.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        remaining = self._producer.flush(timeout)
        if self._error is not None:
            raise self._error
        assert remaining == 0, f"{remaining} records never acknowledged"
        assert not self.failed, f"deliveries failed: {self.failed[:5]}"

    def _run(self) -> None:
        try:
            i = 0
            started = time.monotonic()
            while not self._stop.is_set():
                container = self.ids[i % len(self.ids)]
                seq = self.next_seq(topics.AGGREGATES.name, container)
                self.produce(topics.AGGREGATES.name, window(self.vessel, container, seq), container)
                if i % self.alert_every == 0:
                    aseq = self.next_seq(topics.ALERTS.name, container)
                    self.produce(topics.ALERTS.name, alert(self.vessel, container, aseq), container)
                i += 1
                ahead = i / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    self._stop.wait(ahead)
        except BaseException as exc:  # noqa: BLE001 - re-raised by stop()
            self._error = exc


def shore_sequences(bootstrap: str, topic: str, partitions: int) -> dict[str, list[int]]:
    """Sequence numbers per source in ``topic`` ashore, in offset order."""
    found: dict[str, list[int]] = defaultdict(list)
    listed = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    if topic not in listed:
        return found  # MirrorMaker 2 creates it on its next topic refresh
    for message in read_topic(bootstrap, topic):
        event = decode(message.value())
        found[f"{event.kind}:{event.source}"].append(event.seq)
    return found


def _ashore(
    bootstrap: str, topic: str, partitions: int, want: dict[str, list[int]], timeout: float
) -> dict[str, list[int]]:
    got: dict[str, list[int]] = {}

    def complete() -> bool:
        nonlocal got
        found = shore_sequences(bootstrap, topic, partitions)
        got = {src: seqs for src, seqs in found.items() if src in want}
        return all(len(got.get(src, [])) >= len(seqs) for src, seqs in want.items())

    wait_until(complete, timeout=timeout, what=f"{topic} to hold every record", interval=2)
    return got


def arrived_once_in_order(
    bootstrap: str, vessel: str, acked: Acked, timeout: float = 300.0
) -> dict[str, int]:
    """Wait until every acknowledged event is ashore; assert each came once, in order.

    Returns the duplicates found per topic (the assertion already requires none).
    """
    report: dict[str, int] = {}
    for topic, sources in acked.items():
        spec = next(s for s in topics.VESSEL_TOPICS if s.name == topic)
        shore_topic = topics.on_shore(vessel, spec)
        want = dict(sources)
        got = _ashore(bootstrap, shore_topic, spec.partitions, want, timeout)
        report[topic] = sum(len(got[src]) - len(set(got[src])) for src in want)
        for src, seqs in want.items():
            assert got[src] == seqs, (
                f"{shore_topic} {src}: shore has {got[src][:20]}..., want {seqs[:20]}..."
            )
    return report
