"""The MQTT ingest: device messages to ``reefer.telemetry``, rejects to the dead-letter topic.

Devices publish with QoS 1 to ``fleet/<vessel>/reefer/<container>/telemetry`` (JSON or the
binary encoding). For each message:

1. decode and validate it (:class:`ReadingValidator`), and check the topic's container is the
   reading's;
2. produce it unchanged, keyed by container id, to the telemetry topic (idempotent, acks=all);
   or produce a :class:`DeadLetter` with the reason (also in headers) to the dead-letter topic;
3. acknowledge the MQTT message once Kafka has acknowledged that record (see ``acks``).

The session is persistent (``clean_session=False``), so messages published while the bridge is
down wait in the MQTT broker and arrive when it returns.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from confluent_kafka import KafkaError, Producer
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import Counter

from fleetedge.events import JSON, DeadLetter, EventError, ReadingValidator
from fleetedge.events.exceptions import ImplausibleEvent
from fleetedge.events.topics import TELEMETRY, TELEMETRY_DLQ
from fleetedge.ingest.acks import OrderedAcks
from fleetedge.ingest.exceptions import MqttConnectionError
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
ACCEPTED = Counter("fleetedge_ingest_accepted_total", "device readings forwarded to Kafka")
REJECTED = Counter("fleetedge_ingest_rejected_total", "device messages dead-lettered", ["error"])


def device_topic(vessel_id: str, container_id: str) -> str:
    return f"fleet/{vessel_id}/reefer/{container_id}/telemetry"


class MqttBridge:
    """One vessel's MQTT-to-Kafka bridge; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(
        self,
        *,
        vessel_id: str,
        validator: ReadingValidator,
        bootstrap: str,
        mqtt_port: int,
        mqtt_host: str = "127.0.0.1",
        client_id: str | None = None,
        telemetry_topic: str = TELEMETRY.name,
        dlq_topic: str = TELEMETRY_DLQ.name,
    ) -> None:
        self.vessel_id = vessel_id
        self.validator = validator
        self.telemetry_topic = telemetry_topic
        self.dlq_topic = dlq_topic
        self.accepted = 0
        self.rejected = 0
        self.delivery_errors: list[str] = []
        # Dead letters are numbered per bridge run: the run is their source.
        self.service = f"mqtt-ingest/{uuid.uuid4().hex[:8]}"
        self._dead_letters = 0
        self._received = 0
        self._lock = threading.Lock()
        self._mqtt_host, self._mqtt_port = mqtt_host, mqtt_port
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "message.timeout.ms": 2_147_483_647,
                "logger": _kafka_log,
            }
        )
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"fleetedge-ingest-{vessel_id}",
            clean_session=False,
            manual_ack=True,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._acks = OrderedAcks(self._ack)
        self._connected = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> MqttBridge:
        self._client.connect(self._mqtt_host, self._mqtt_port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise MqttConnectionError(
                f"no subscribed MQTT session with {self._mqtt_host}:{self._mqtt_port} "
                f"within {timeout}s",
                hint="is the vessel's MQTT broker (mosquitto) running on that port?",
            )
        return self

    def poll(self, timeout: float = 0.1) -> None:
        """Serve Kafka delivery reports (and so MQTT acks); call it in the service loop."""
        self._producer.poll(timeout)

    @property
    def unacknowledged(self) -> int:
        """MQTT messages received whose Kafka record is not acknowledged yet."""
        return self._acks.outstanding()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish what was received, acknowledge it, then disconnect."""
        self._producer.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttBridge:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _ack(self, mid: int) -> None:
        self._client.ack(mid, 1)

    # -- callbacks ----------------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            _log.error("MQTT connection refused: %s", reason)
            return
        # Ready once the broker has acknowledged the subscription, not at the connection: a
        # first session's messages published before its SUBACK would not be kept for it.
        client.subscribe(f"fleet/{self.vessel_id}/reefer/+/telemetry", qos=1)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            _log.error("MQTT subscription refused: %s", reasons)
            return
        self._connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._acks.received(msg.mid)
        payload = bytes(msg.payload)
        with self._lock:
            self._received += 1
            sequence = self._received
        try:
            reading = self.validator.parse(payload)
            topic_container = msg.topic.split("/")[3]
            if topic_container != reading.container_id:
                raise ImplausibleEvent(
                    f"reading of {reading.container_id} published on {msg.topic}",
                    field="container_id",
                )
        except EventError as exc:
            self._dead_letter(msg, payload, exc, sequence)
            return
        self._produce(self.telemetry_topic, payload, reading.container_id.encode(), msg.mid, None)
        self.accepted += 1
        ACCEPTED.inc()

    def _dead_letter(
        self, msg: mqtt.MQTTMessage, payload: bytes, exc: EventError, sequence: int
    ) -> None:
        with self._lock:
            self._dead_letters += 1
            seq = self._dead_letters
        letter = DeadLetter(
            vessel_id=self.vessel_id,
            event_time=datetime.now(UTC),
            seq=seq,
            service=self.service,
            reason=exc.reason[:1000],
            error=type(exc).__name__,
            field=exc.field,
            source_topic=msg.topic,
            source_partition=0,
            source_offset=sequence - 1,
            payload=payload,
        )
        headers = [
            ("reason", exc.reason.encode()),
            ("error", type(exc).__name__.encode()),
            ("source", msg.topic.encode()),
        ]
        if exc.field:
            headers.append(("field", exc.field.encode()))
        key = msg.topic.split("/")[3].encode() if msg.topic.count("/") >= 3 else None
        self._produce(self.dlq_topic, JSON.encode(letter), key, msg.mid, headers)
        self.rejected += 1
        REJECTED.labels(type(exc).__name__).inc()
        _log.warning("dead-lettered a message from %s: %s", msg.topic, exc.reason)

    def _produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        mid: int,
        headers: list[tuple[str, bytes]] | None,
    ) -> None:
        def delivered(err: KafkaError | None, _record: Any) -> None:
            if err is not None:
                # Not acknowledged to MQTT: the broker redelivers it to the next session.
                self.delivery_errors.append(str(err))
                _log.error("Kafka refused a record for %s: %s", topic, err)
                return
            self._acks.completed(mid)

        while True:
            try:
                self._producer.produce(
                    topic, value, key=key, headers=headers, on_delivery=delivered
                )
            except BufferError:
                self._producer.poll(0.1)
            else:
                return
