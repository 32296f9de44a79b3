"""Writing readings to the vessel's telemetry topic without losing one.

Idempotent producer, acks=all, and a delivery timeout far longer than any broker failover, so
a broker's loss delays acknowledgements but never drops a record; a record that still fails is
counted and raised at :meth:`TelemetryProducer.close`, never forgotten.
"""

from __future__ import annotations

import logging
from types import TracebackType

from confluent_kafka import KafkaError, Message, Producer
from prometheus_client import Counter

from fleetedge.devices.exceptions import ProduceError
from fleetedge.events.codec import Codec
from fleetedge.events.telemetry import ReeferReading
from fleetedge.security.clients import kafka_config

_log = logging.getLogger("fleetedge.runtime.kafka")
PRODUCED = Counter("fleetedge_readings_produced_total", "readings acknowledged by the cluster")
FAILED = Counter("fleetedge_readings_failed_total", "readings the cluster did not acknowledge")


class TelemetryProducer:
    """Produce readings keyed by container id; use as a context manager."""

    def __init__(self, bootstrap: str, topic: str, codec: Codec, compression: str = "zstd") -> None:
        self.topic = topic
        self.codec = codec
        self.acked = 0
        self.failures: list[str] = []
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": compression,
                "linger.ms": 50,
                "message.timeout.ms": 2_147_483_647,
                "queue.buffering.max.messages": 500_000,
                "logger": _log,
            }
        )

    def __enter__(self) -> TelemetryProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(raise_failures=exc is None)

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.acked += 1
            PRODUCED.inc()
        else:
            self.failures.append(str(err))
            FAILED.inc()

    def send(self, reading: ReeferReading) -> None:
        value = self.codec.encode(reading)
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value,
                    key=reading.container_id.encode(),
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:  # local queue full (a broker is away): wait for room
                self._producer.poll(0.1)
        self._producer.poll(0)

    def pending(self) -> int:
        return len(self._producer)

    def close(self, timeout: float = 300.0, raise_failures: bool = True) -> None:
        """Wait for every record's acknowledgement; ProduceError if any failed or timed out."""
        left = self._producer.flush(timeout)
        if raise_failures and (left or self.failures):
            raise ProduceError(
                f"{len(self.failures)} readings failed and {left} unacknowledged on {self.topic}"
                + (f"; first error: {self.failures[0]}" if self.failures else ""),
                hint="check the vessel cluster (`fleet cluster status`); nothing failed silently",
            )
