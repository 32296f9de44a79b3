"""The shore bench's input: synthetic windows and alerts of a fleet, written to the shore and
read back raw (the baseline every ratio is taken against)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import (
    Consumer,
    Producer,
    TopicPartition,
)

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import JSON
from fleetedge.events import topics as t


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
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value)
                break
            except BufferError:  # the local queue is full: wait for deliveries
                producer.poll(0.5)
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
