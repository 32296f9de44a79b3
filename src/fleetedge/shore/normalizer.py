"""The shore's front door: every vessel's mirrored topics into the fleet.* topics, exactly once.

MirrorMaker 2 lands vessel V's topics as ``V.reefer.aggregates``, ``V.reefer.alerts`` and so
on. The normalizer subscribes to them by pattern, so a new vessel is picked up within one
metadata refresh with no restart (and a topic that a rebalance left out, within a grace:
:mod:`fleetedge.shore.assignment`), checks every record (it decodes, it is the kind its topic
carries, it names the vessel whose topic it came on) and writes it, re-keyed, to the fleet
topic the analytics and the projector read. A record that fails goes to ``fleet.dlq`` with
the reason in its headers; the service keeps going.

Commit protocol, per batch:

1. consume up to ``batch`` records (read committed);
2. begin a transaction; produce each record's output (fleet topic or dead letter);
3. add the next offsets of every partition in the batch to the transaction;
4. commit. Outputs and offsets become visible together or not at all.

A fatal Kafka error (a fenced producer, a failed transaction) ends :meth:`run` with the error:
the supervisor restarts the process, which resumes at the committed offsets with nothing
doubled. A consumer error the client retries by itself is logged and waited out.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from prometheus_client import Counter

from fleetedge.events import JSON, DeadLetter, Event, EventError, decode
from fleetedge.events import topics as t
from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert
from fleetedge.events.vessel import CommandAck, VesselStatus
from fleetedge.runtime.retry import GROUP_SESSION_TIMEOUT_MS
from fleetedge.runtime.watchdog import deadline
from fleetedge.security.clients import kafka_config
from fleetedge.shore import admission
from fleetedge.shore.assignment import Unassigned
from fleetedge.shore.exceptions import ShoreError

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
NORMALIZED = Counter("fleetedge_shore_normalized_total", "vessel records accepted", ["kind"])
REJECTED = Counter("fleetedge_shore_dead_letters_total", "vessel records dead-lettered", ["error"])
RESUBSCRIBED = Counter(
    "fleetedge_shore_resubscribed_total",
    "times the normalizer subscribed again for a vessel topic its assignment left out",
)


@dataclass(frozen=True)
class Route:
    event: type[Event]
    target: t.TopicSpec
    key: Callable[[Event], str]


ROUTES: dict[str, Route] = {
    t.AGGREGATES.name: Route(
        ContainerWindow,
        t.FLEET_WINDOWS,
        lambda e: f"{e.vessel_id}/{getattr(e, 'container_id', '')}",
    ),
    t.ALERTS.name: Route(
        Alert, t.FLEET_ALERTS, lambda e: f"{e.vessel_id}/{getattr(e, 'alert_id', '')}"
    ),
    t.STATUS.name: Route(VesselStatus, t.FLEET_STATUS, lambda e: e.vessel_id),
    t.COMMAND_ACKS.name: Route(
        CommandAck, t.FLEET_ACKS, lambda e: f"{e.vessel_id}/{getattr(e, 'command_id', '')}"
    ),
}
PATTERN = rf"^{t.VESSEL_ID}\.(" + "|".join(re.escape(n) for n in ROUTES) + r")$"
_SPLIT = re.compile(PATTERN)


class Rejected(ShoreError):
    """A record the shore cannot accept (the reason is the message)."""

    def __init__(self, reason: str, *, error: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.field = field


def check(topic: str, value: bytes | None) -> tuple[Route, Event]:
    """The route and the event of a mirrored record, or :class:`Rejected` with the reason."""
    match = _SPLIT.match(topic)
    if match is None:
        raise Rejected(f"topic {topic} is not a vessel's mirrored topic", error="UnknownTopic")
    vessel, name = topic[: match.start(1) - 1], match.group(1)
    route = ROUTES[name]
    if not value:
        raise Rejected("empty record", error="DecodeError")
    try:
        event = decode(value)
    except EventError as exc:
        raise Rejected(exc.reason, error=type(exc).__name__, field=exc.field) from exc
    if not isinstance(event, route.event):
        raise Rejected(
            f"{event.KIND} on {topic}, which carries {route.event.KIND}", error="WrongTopic"
        )
    if event.vessel_id != vessel:
        raise Rejected(
            f"{event.KIND} of {event.vessel_id} on {vessel}'s topic {topic}",
            error="WrongVessel",
            field="vessel_id",
        )
    return route, event


def stamped(window: ContainerWindow, msg: Message) -> ContainerWindow:
    """The window with when the vessel wrote it (the record's time, which the link keeps) and
    when the shore took it in: what a compliance report calls late. Written as the current
    version whatever the vessel sent."""
    kind, ms = msg.timestamp()
    sent = datetime.fromtimestamp(ms // 1000, UTC) if kind != TIMESTAMP_NOT_AVAILABLE else None
    return window.model_copy(
        update={
            "schema_version": ContainerWindow.VERSION,
            "sent_at": sent,
            "received_at": datetime.now(UTC).replace(microsecond=0),
        }
    )


def dead_letter(msg: Message, rejected: Rejected) -> DeadLetter:
    """The dead letter of a rejected record; its id is derived from where it was read."""
    topic = msg.topic()
    return admission.dead_letter(
        "shore-normalizer",
        admission.Source(topic, msg.partition(), msg.offset(), msg.timestamp()[1]),
        msg.value() or b"",
        vessel=admission.vessel_of(topic),
        error=rejected.error,
        reason=rejected.reason,
        field=rejected.field,
    )


class Normalizer:
    """Merge every vessel's mirrored topics into the fleet topics (see the module docstring)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        group_id: str = "fleet-normalizer",
        transactional_id: str = "fleet-normalizer",
        batch: int = 1000,
        metadata_refresh_ms: int = 5000,
        check_assignment_every: float = 10.0,
        unassigned_grace: float = 30.0,
    ) -> None:
        self.batch = batch
        self.check_assignment_every = check_assignment_every
        self._checked_at = time.monotonic()
        self._unassigned = Unassigned(unassigned_grace)
        self.accepted = 0
        self.rejected = 0
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": group_id,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                # New vessels' topics are found on the next refresh of the pattern's matches.
                "topic.metadata.refresh.interval.ms": metadata_refresh_ms,
                "session.timeout.ms": GROUP_SESSION_TIMEOUT_MS,
                "logger": _kafka_log,
            }
        )
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "transactional.id": transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "zstd",
                "logger": _kafka_log,
            }
        )

    def start(self) -> Normalizer:
        self._producer.init_transactions(60)
        self._consumer.subscribe([PATTERN])
        _log.info("normalizer subscribed", extra={"pattern": PATTERN})
        return self

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._consumer.close()
        self._producer.flush(10)

    def __enter__(self) -> Normalizer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *, idle_timeout: float | None = None) -> None:
        """Normalize until :meth:`stop`, or until ``idle_timeout`` seconds pass with no record."""
        idle_since = time.monotonic()
        while not self._stop.is_set():
            msgs = [m for m in self._consumer.consume(self.batch, 0.5) if self._usable(m)]
            if msgs:
                self._commit_batch(msgs)
                idle_since = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                return
            self.check_assignment()  # between batches: no transaction is open

    def check_assignment(self) -> None:
        """Subscribe again if a vessel's topic has matched the pattern for a grace and no
        rebalance has assigned it (:mod:`fleetedge.shore.assignment`)."""
        now = time.monotonic()
        if now - self._checked_at < self.check_assignment_every:
            return
        self._checked_at = now
        try:
            topics = self._consumer.list_topics(timeout=10).topics
        except KafkaException as exc:
            _log.info("metadata not available now, assignment not checked: %s", exc)
            return
        matching = [name for name, meta in topics.items() if _SPLIT.match(name) and not meta.error]
        assigned = [tp.topic for tp in self._consumer.assignment()]
        overdue = self._unassigned.overdue(matching, assigned, now)
        if not overdue:
            return
        _log.warning(
            "vessel topics matched but never assigned; subscribing again",
            extra={"topics": overdue},
        )
        RESUBSCRIBED.inc()
        self._consumer.subscribe([PATTERN])
        self._unassigned.forget()

    def _usable(self, msg: Message) -> bool:
        error = msg.error()
        if error is None:
            return True
        if error.code() == KafkaError._PARTITION_EOF:
            return False
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return False  # no vessel's topic matches yet; the next metadata refresh may find one
        if error.fatal():
            raise ShoreError(f"normalizer consumer error: {error}")
        # The client retries the rest by itself (a broker away, a topic of a vessel that left
        # the fleet and is no longer ours to read): a word in the log, no exit.
        _log.warning("consumer error, the client retries: %s", error)
        return False

    def _commit_batch(self, msgs: list[Message]) -> None:
        self._producer.begin_transaction()
        offsets: dict[tuple[str, int], int] = {}
        for msg in msgs:
            self._route(msg)
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        # The offsets belong to the group (partitions move between members), so they go by
        # send_offsets_to_transaction, which may ignore its timeout (see runtime.watchdog).
        with deadline(180, "the normalizer's transaction commit"):
            self._producer.send_offsets_to_transaction(
                [TopicPartition(topic, p, o) for (topic, p), o in offsets.items()],
                self._consumer.consumer_group_metadata(),
                30,
            )
            self._producer.commit_transaction(60)

    def _route(self, msg: Message) -> None:
        try:
            route, event = check(msg.topic(), msg.value())
        except Rejected as rejected:
            letter = dead_letter(msg, rejected)
            self._producer.produce(
                t.FLEET_DLQ.name,
                key=msg.key() or b"",
                value=JSON.encode(letter),
                headers=[
                    ("reason", rejected.reason.encode()),
                    ("error", rejected.error.encode()),
                    ("source", f"{msg.topic()}/{msg.partition()}/{msg.offset()}".encode()),
                ],
            )
            self.rejected += 1
            REJECTED.labels(rejected.error).inc()
            _log.warning(
                "record dead-lettered",
                extra={"topic": msg.topic(), "offset": msg.offset(), "reason": rejected.reason},
            )
            return
        if isinstance(event, ContainerWindow):
            event = stamped(event, msg)
        self._producer.produce(
            route.target.name,
            key=route.key(event).encode(),
            value=JSON.encode(event),
            headers=[("source", f"{msg.topic()}/{msg.partition()}/{msg.offset()}".encode())],
        )
        self._producer.poll(0)
        self.accepted += 1
        NORMALIZED.labels(event.KIND).inc()
