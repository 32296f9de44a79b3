"""The processor's state: an in-memory key-value map backed by a compacted changelog topic.

Changed keys are written to the changelog inside the same Kafka transaction as the outputs and
the next input offset (a key of its own), so after any crash the changelog, read with
read_committed, describes one instant; restoring is reading the changelog to its end.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from confluent_kafka import Consumer, TopicPartition

from fleetedge.edge.exceptions import RecoveryStalled
from fleetedge.runtime.reading import watermarks
from fleetedge.security.clients import kafka_config

_DELETED = object()


class ChangelogState:
    """A Store whose writes are remembered until :meth:`drain` hands them to the changelog."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._dirty: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        # No defensive copy: callers set back what they change, and a batch whose transaction
        # fails is never continued (the process exits and restores from the changelog).
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self._dirty[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self._dirty[key] = _DELETED

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.data if k.startswith(prefix)]

    def drain(self) -> list[tuple[bytes, bytes | None]]:
        """The changelog records for everything changed since the last drain."""
        records = [
            (k.encode(), None if v is _DELETED else orjson.dumps(v)) for k, v in self._dirty.items()
        ]
        self._dirty.clear()
        return records

    def restore(self, bootstrap: str, topic: str, deadline_s: float = 300.0) -> int:
        """Load the changelog to its end; the number of records read. Raises RecoveryStalled
        when no progress is made before ``deadline_s``."""
        consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": f"restore-{uuid.uuid4()}",
                "logger": logging.getLogger("fleetedge.runtime.kafka"),
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        try:
            tp = TopicPartition(topic, 0)
            low, high = watermarks(consumer, tp)
            if high <= low:
                return 0
            consumer.assign([TopicPartition(topic, 0, low)])
            read, position, last_progress = 0, low, time.monotonic()
            while position < high:
                msgs = consumer.consume(10_000, timeout=1.0)
                for msg in msgs:
                    if msg.error():
                        continue
                    key = msg.key().decode()
                    value = msg.value()
                    if value is None:
                        self.data.pop(key, None)
                    else:
                        self.data[key] = orjson.loads(value)
                    position, read = msg.offset() + 1, read + 1
                if msgs:
                    last_progress = time.monotonic()
                else:
                    # Transaction markers occupy offsets no message is returned for.
                    position = max(position, consumer.position([tp])[0].offset)
                if time.monotonic() - last_progress > deadline_s:
                    raise RecoveryStalled(
                        f"restoring {topic} stalled at offset {position} of {high}"
                    )
            return read
        finally:
            consumer.close()
