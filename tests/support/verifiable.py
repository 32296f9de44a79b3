"""A verifiable producer and a full-topic reader, after Kafka's own system tests.

The producer writes numbered records (value = its sequence number) with an idempotent acks=all
producer and records which numbers were acknowledged per partition; ``verify_delivery`` then
checks what Kafka's ``validate_delivery`` checks, plus order and exactly-once.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from fleetedge.runtime.reading import read_records
from fleetedge.runtime.waiting import wait_until


class VerifiableProducer:
    """Produce numbered records at a steady rate in a background thread until stopped."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, rate: float = 2500.0) -> None:
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.acked: dict[int, list[int]] = defaultdict(list)
        self.failed: list[tuple[int, str]] = []
        self.sent = 0
        self._acked_count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                # Ride out a broker's loss: retry for far longer than any election takes.
                "message.timeout.ms": 300_000,
            }
        )
        self._thread = threading.Thread(target=self._run, name=f"producer-{topic}", daemon=True)

    @property
    def acked_count(self) -> int:
        with self._lock:
            return self._acked_count

    def wait_acked(self, count: int, timeout: float, what: str = "records acked") -> None:
        """Wait until at least ``count`` records are acknowledged."""
        wait_until(lambda: self.acked_count >= count, timeout=timeout, what=f"{count} {what}")

    def start(self) -> VerifiableProducer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 120.0) -> None:
        """Stop producing, wait until every sent record is acknowledged or failed."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("producer thread did not stop")
        if self._error is not None:
            raise self._error
        remaining = self._producer.flush(timeout)
        if remaining:
            raise AssertionError(f"{remaining} records neither acknowledged nor failed")

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        number = int(msg.value())
        if err is not None:
            self.failed.append((number, str(err)))
            return
        with self._lock:
            self.acked[msg.partition()].append(number)
            self._acked_count += 1

    def _run(self) -> None:
        batch = max(1, int(self.rate / 20))
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                for _ in range(batch):
                    number = self.sent
                    self._producer.produce(
                        self.topic,
                        value=str(number).encode(),
                        key=str(number).encode(),
                        partition=number % self.partitions,
                        on_delivery=self._on_delivery,
                    )
                    self.sent += 1
                self._producer.poll(0)
                next_at += batch / self.rate
                # Pace the load; wake at once when told to stop.
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - re-raised by stop(): a dead thread cannot pass silently
            self._error = exc


def read_topic(bootstrap: str, topic: str, timeout: float = 180.0) -> list[Message]:
    """Every committed record of ``topic`` to its end (the project's one reader)."""
    return read_records(bootstrap, topic, timeout=timeout)


def consume_all(bootstrap: str, topic: str) -> dict[int, list[int]]:
    """The numbered values of ``topic`` per partition, in offset order."""
    got: dict[int, list[int]] = defaultdict(list)
    for msg in read_topic(bootstrap, topic):
        got[msg.partition()].append(int(msg.value()))
    return got


@dataclass
class DeliveryReport:
    acked: int
    consumed: int
    lost: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    out_of_order: dict[int, int] = field(default_factory=dict)
    unexpected: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.unexpected)


def verify_delivery(producer: VerifiableProducer, consumed: dict[int, list[int]]) -> DeliveryReport:
    """acked ⊆ consumed, no record twice, per-partition order, nothing that was never sent."""
    seen: set[int] = set()
    duplicated: list[int] = []
    unexpected: list[int] = []
    out_of_order: dict[int, int] = {}
    for partition, values in consumed.items():
        for index, number in enumerate(values):
            if number in seen:
                duplicated.append(number)
            seen.add(number)
            if number >= producer.sent or number % producer.partitions != partition:
                unexpected.append(number)
            if index and number <= values[index - 1] and partition not in out_of_order:
                out_of_order[partition] = index
    acked = {n for values in producer.acked.values() for n in values}
    return DeliveryReport(
        acked=len(acked),
        consumed=sum(len(v) for v in consumed.values()),
        lost=sorted(acked - seen),
        duplicated=sorted(duplicated),
        out_of_order=out_of_order,
        unexpected=sorted(unexpected),
    )
