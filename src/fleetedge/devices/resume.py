"""Resuming a vessel's simulation after a crash, where its readings in Kafka stop.

The simulation is deterministic for its seed and start, so a restarted simulator replays it
without producing up to the last tick found in the telemetry topic, then produces only what is
missing: the readings of that tick a crash cut short, and everything after. Nothing is sent twice
and nothing is skipped, as a real device's buffered readings would be.
"""

from __future__ import annotations

import logging
import math

from confluent_kafka import Consumer, TopicPartition

from fleetedge.devices.vessel import VesselSimulator
from fleetedge.events import ReeferReading
from fleetedge.events.codec import decode
from fleetedge.events.exceptions import EventError
from fleetedge.runtime.reading import watermarks
from fleetedge.security.clients import kafka_config


def last_seqs(bootstrap: str, topic: str, vessel: str, containers: int) -> dict[str, int]:
    """Each container's newest reading ``seq`` in ``topic``, from the tail of every partition.

    A tick writes one reading per container, so the last ``2 * containers / partitions`` records
    of a partition (plus margin for uneven keys) hold the last two ticks of its containers.
    """
    consumer = Consumer(
        {
            **kafka_config(bootstrap),
            "group.id": f"fleetedge-resume-{vessel}",
            "logger": logging.getLogger("fleetedge.runtime.kafka"),
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=30)
        parts = sorted(meta.topics[topic].partitions) if topic in meta.topics else []
        tail = 3 * math.ceil(containers / max(1, len(parts))) + 50
        seqs: dict[str, int] = {}
        for p in parts:
            low, high = watermarks(consumer, TopicPartition(topic, p))
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, max(low, high - tail))])
            position = max(low, high - tail)
            while position < high:
                msg = consumer.poll(5.0)
                if msg is None:
                    break
                if msg.error() is not None:
                    continue
                position = msg.offset() + 1
                try:
                    event = decode(msg.value() or b"")
                except EventError:
                    continue
                if isinstance(event, ReeferReading) and event.vessel_id == vessel:
                    seqs[event.container_id] = max(seqs.get(event.container_id, 0), event.seq)
        return seqs
    finally:
        consumer.close()


def fast_forward(sim: VesselSimulator, seqs: dict[str, int]) -> list[ReeferReading]:
    """Replay ``sim`` to the newest tick in ``seqs``; return the readings not yet sent up to it.

    Partitions are written independently, so a crash can leave one container a tick or two
    behind another: every tick after the least advanced container's is checked.
    """
    last = max(seqs.values(), default=0)
    floor = min((seqs.get(c, 0) for c in sim.container_ids), default=0)
    missing: list[ReeferReading] = []
    while sim.tick < last:
        readings = sim.next_readings()
        if sim.tick > floor:
            missing.extend(r for r in readings if seqs.get(r.container_id, 0) < r.seq)
    return missing
