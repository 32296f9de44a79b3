"""The vessel's answer to a shore backfill request: windows rebuilt from the retained raw readings.

A ``resend`` command names a container and the reading seqs the shore lacks
(``params: {"from_seq", "to_seq"}``). The resender reads the container's readings from the
retained telemetry topic, rebuilds every window period holding a requested reading with the
edge's own window functions (same event id and window seq, so the shore counts it once even if
the original arrives too), produces those windows to the aggregates topic, which the link
carries ashore, and acknowledges the command: ``succeeded`` with what it sent, or ``failed``
with the reason (readings no longer retained aboard). Commands past ``expires_at`` are
acknowledged ``expired``.

Delivery is at-least-once: the command's offset is committed after the windows and the ack are
acknowledged by the vessel cluster, and a repeat re-sends the same windows, which the shore's
tables ignore. The acknowledgement's ``seq`` is the command's, one ack per command.

The telemetry scan reads the partition from its start and keeps only the container's records
(by key, before decoding); requests are rare, so simplicity wins over an index.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from prometheus_client import Counter

from fleetedge.edge.exceptions import EdgeError
from fleetedge.edge.polling import consume_each
from fleetedge.edge.windows import WindowConfig, add, finish, start
from fleetedge.events import JSON, Command, CommandAck, EventError, ReeferReading, compact, decode
from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.vessel import CommandAction, CommandStatus
from fleetedge.runtime.retry import GROUP_SESSION_TIMEOUT_MS, transient_error
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
RESENT = Counter("fleetedge_edge_backfill_windows_total", "windows re-sent on request")
ANSWERED = Counter("fleetedge_edge_backfill_commands_total", "backfill commands", ["status"])


def rebuild_windows(
    vessel: str,
    container: str,
    readings: list[ReeferReading],
    *,
    lo: int,
    hi: int,
    config: WindowConfig,
) -> list[ContainerWindow]:
    """The windows of ``container`` whose periods hold a reading with seq in [lo, hi]."""
    periods: dict[datetime, list[ReeferReading]] = defaultdict(list)
    for r in readings:
        periods[config.bounds(r.event_time)[0]].append(r)
    out = []
    for period, members in sorted(periods.items()):
        if not any(lo <= r.seq <= hi for r in members):
            continue
        state = start(members[0], config)
        for r in members[1:]:
            state = add(state, r, config)
        out.append(
            finish(
                state,
                vessel_id=vessel,
                container_id=container,
                window_start=period,
                config=config,
                resent=True,
            )
        )
    return out


class Resender:
    """Answer the shore's ``resend`` commands aboard (see the module docstring)."""

    def __init__(
        self,
        vessel: str,
        bootstrap: str,
        *,
        commands_topic: str,
        telemetry_topic: str = "reefer.telemetry",
        aggregates_topic: str = "reefer.aggregates",
        acks_topic: str = "vessel.command_acks",
        window: WindowConfig | None = None,
    ) -> None:
        self.vessel = vessel
        self.bootstrap = bootstrap
        self.commands_topic = commands_topic
        self.telemetry_topic = telemetry_topic
        self.aggregates_topic = aggregates_topic
        self.acks_topic = acks_topic
        self.window = window or WindowConfig()
        self.answered = 0
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": f"resender-{vessel}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": GROUP_SESSION_TIMEOUT_MS,
                "logger": _kafka_log,
            }
        )
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",  # the brokers compress for the link (topics.py)
                "logger": _kafka_log,
            }
        )

    def start(self) -> Resender:
        self._consumer.subscribe([self.commands_topic])
        return self

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._consumer.close()
        self._producer.flush(30)

    def __enter__(self) -> Resender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *, idle_timeout: float | None = None) -> None:
        consume_each(
            self._consumer, self._stop, self._take, what="resender", idle_timeout=idle_timeout
        )

    def _take(self, msg: Message) -> None:
        self._answer(msg.value() or b"")
        if self._producer.flush(60) != 0:
            raise EdgeError("resent windows were not acknowledged by the vessel cluster")
        self._consumer.commit(msg, asynchronous=False)

    def _answer(self, value: bytes) -> None:
        try:
            command = decode(value)
        except EventError as exc:
            _log.warning("unreadable command skipped", extra={"reason": exc.reason})
            return
        if not isinstance(command, Command) or command.action != CommandAction.RESEND:
            return  # other commands are for other services aboard
        status, reason = self._resend(command)
        ack = CommandAck(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:ack:{command.command_id}"),
            vessel_id=self.vessel,
            event_time=datetime.now(UTC),
            seq=command.seq,
            command_id=command.command_id,
            status=status,
            container_id=command.container_id,
            reason=reason,
        )
        self._producer.produce(self.acks_topic, key=str(command.command_id), value=JSON.encode(ack))
        self.answered += 1
        ANSWERED.labels(status.value).inc()
        _log.info(
            "backfill answered",
            extra={"command": str(command.command_id), "status": status.value, "reason": reason},
        )

    def _resend(self, command: Command) -> tuple[CommandStatus, str]:
        if command.expires_at < datetime.now(UTC):
            return CommandStatus.EXPIRED, f"expired at {command.expires_at.isoformat()}"
        container = command.container_id
        try:
            lo, hi = int(command.params["from_seq"]), int(command.params["to_seq"])
        except (KeyError, ValueError):
            return CommandStatus.REJECTED, "resend needs params from_seq and to_seq"
        if container is None or lo > hi:
            return CommandStatus.REJECTED, "resend needs a container and from_seq <= to_seq"
        readings = self._readings(container)
        held = {r.seq for r in readings}
        missing = [s for s in range(lo, hi + 1) if s not in held]
        windows = rebuild_windows(
            self.vessel, container, readings, lo=lo, hi=hi, config=self.window
        )
        for w in windows:
            self._producer.produce(self.aggregates_topic, key=container, value=compact.pack(w))
            RESENT.inc()
        if missing:
            return CommandStatus.FAILED, (
                f"{len(missing)} of readings {lo}-{hi} are no longer aboard "
                f"(first {missing[0]}); re-sent {len(windows)} windows"
            )
        return CommandStatus.SUCCEEDED, f"re-sent {len(windows)} windows for readings {lo}-{hi}"

    def _readings(self, container: str) -> list[ReeferReading]:
        """Every retained reading of ``container``, read committed, start to end."""
        scan = Consumer(
            {
                **kafka_config(self.bootstrap),
                "group.id": f"resender-scan-{self.vessel}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "logger": _kafka_log,
            }
        )
        key = container.encode()
        found: list[ReeferReading] = []
        try:
            meta = scan.list_topics(self.telemetry_topic, timeout=30).topics[self.telemetry_topic]
            parts = [TopicPartition(self.telemetry_topic, p, -2) for p in meta.partitions]
            scan.assign(parts)
            at_end: set[int] = set()
            while len(at_end) < len(parts):
                for msg in scan.consume(5000, 1.0):
                    error = msg.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            at_end.add(msg.partition())
                            continue
                        if not transient_error(error):
                            raise EdgeError(f"telemetry scan error: {error}")
                        _log.warning("telemetry scan: %s; going on", error)
                        continue
                    if msg.key() != key:
                        continue
                    try:
                        reading = decode(msg.value() or b"")
                    except EventError:
                        continue  # the edge dead-lettered it already
                    if isinstance(reading, ReeferReading):
                        found.append(reading)
        finally:
            scan.close()
        return found
