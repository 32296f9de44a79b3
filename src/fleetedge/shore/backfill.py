"""Completeness ashore and the backfill requests that close its gaps.

``fleet.completeness`` holds, per container, the reading seqs that reached shore (from the
windows' first/last/count/gaps) and the gaps between them. The requester turns each gap into a
``resend`` command for the container's vessel, on the vessel's command topic, which the link
carries aboard; the vessel's resender answers with the rebuilt windows. A gap is asked for at
most once per ``cooldown``; commands expire after ``expires`` so a long-gone request is not
acted on when a vessel reconnects weeks later.

Command ids are derived from (container, gap, attempt), so a requester that restarts and asks
again in the same attempt window sends the same command id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from prometheus_client import Counter, Gauge

from fleetedge.events import JSON, Command, decode
from fleetedge.events import topics as t
from fleetedge.events.vessel import CommandAction
from fleetedge.link.mirror import commands_topic
from fleetedge.runtime.reading import watermarks
from fleetedge.runtime.retry import is_transient, transient_error
from fleetedge.security.clients import kafka_config
from fleetedge.shore.exceptions import ShoreBusy, ShoreError

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
REQUESTED = Counter("fleetedge_shore_backfill_requests_total", "resend commands sent")
GAPS = Gauge("fleetedge_shore_gaps", "reading gaps ashore, all containers")


@dataclass(frozen=True)
class ContainerGaps:
    vessel_id: str
    container_id: str
    received: int
    gaps: tuple[tuple[int, int], ...]

    @property
    def missing(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.gaps)


def read_completeness(
    bootstrap: str, topic: str = t.FLEET_COMPLETENESS.name
) -> list[ContainerGaps]:
    """The latest completeness of every container (the whole compacted topic, read committed)."""
    consumer = Consumer(
        {
            **kafka_config(bootstrap),
            "group.id": "fleetedge-completeness",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "logger": _kafka_log,
        }
    )
    latest: dict[bytes, ContainerGaps] = {}
    try:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        if meta.error is not None:
            raise ShoreError(f"cannot read {topic}: {meta.error}")
        parts = [TopicPartition(topic, p, -2) for p in meta.partitions]
        consumer.assign(parts)
        at_end: set[int] = set()
        while len(at_end) < len(parts):
            for msg in consumer.consume(5000, 1.0):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(msg.partition())
                        continue
                    if not transient_error(error):
                        raise ShoreError(f"reading {topic}: {error}")
                    _log.warning("reading %s: %s; going on", topic, error)
                    continue
                doc = json.loads(msg.value() or b"{}")
                latest[msg.key() or b""] = ContainerGaps(
                    doc["vessel_id"],
                    doc["container_id"],
                    doc["received"],
                    tuple((lo, hi) for lo, hi in doc["gaps"]),
                )
    finally:
        consumer.close()
    found = sorted(latest.values(), key=lambda c: (c.vessel_id, c.container_id))
    GAPS.set(sum(len(c.gaps) for c in found))
    return found


def last_command_seq(bootstrap: str, vessel: str) -> int:
    """The seq of the newest command on ``vessel``'s command topic (0 if none)."""
    topic = commands_topic(vessel)
    consumer = Consumer(
        {**kafka_config(bootstrap), "group.id": "fleetedge-commands", "logger": _kafka_log}
    )
    try:
        tp = TopicPartition(topic, 0)
        low, high = watermarks(consumer, tp)
        if high <= low:
            return 0
        consumer.assign([TopicPartition(topic, 0, max(low, high - 20))])
        seq = 0
        deadline = time.monotonic() + 10
        while consumer.position([tp])[0].offset < high and time.monotonic() < deadline:
            for msg in consumer.consume(100, 1.0):
                if msg.error() is None:
                    command = decode(msg.value() or b"")
                    seq = max(seq, command.seq)
        return seq
    finally:
        consumer.close()


class BackfillRequester:
    """Ask vessels to re-send what the shore lacks (see the module docstring)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        completeness_topic: str = t.FLEET_COMPLETENESS.name,
        cooldown: timedelta = timedelta(minutes=10),
        expires: timedelta = timedelta(days=7),
        issued_by: str = "shore-backfill",
    ) -> None:
        self.bootstrap = bootstrap
        self.completeness_topic = completeness_topic
        self.cooldown_s = cooldown.total_seconds()
        self.expires = expires
        self.issued_by = issued_by
        self._asked: dict[tuple[str, int, int], float] = {}
        self._seqs: dict[str, int] = {}
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "logger": _kafka_log,
            }
        )

    def close(self) -> None:
        self._producer.flush(30)

    def _next_seq(self, vessel: str) -> int:
        if vessel not in self._seqs:
            self._seqs[vessel] = last_command_seq(self.bootstrap, vessel)
        self._seqs[vessel] += 1
        return self._seqs[vessel]

    def request(self, containers: list[ContainerGaps]) -> list[Command]:
        """Send a resend command for every gap not asked for within the cooldown."""
        now = time.monotonic()
        sent = []
        for c in containers:
            for lo, hi in c.gaps:
                key = (c.container_id, lo, hi)
                if now - self._asked.get(key, -self.cooldown_s - 1) < self.cooldown_s:
                    continue
                attempt = int(time.time() // max(self.cooldown_s, 1))
                command = Command(
                    command_id=uuid.uuid5(
                        uuid.NAMESPACE_URL,
                        f"fleetedge:resend:{c.container_id}:{lo}:{hi}:{attempt}",
                    ),
                    vessel_id=c.vessel_id,
                    event_time=datetime.now(UTC),
                    seq=self._next_seq(c.vessel_id),
                    action=CommandAction.RESEND,
                    container_id=c.container_id,
                    params={"from_seq": lo, "to_seq": hi},
                    issued_by=self.issued_by,
                    expires_at=datetime.now(UTC) + self.expires,
                )
                self._producer.produce(
                    commands_topic(c.vessel_id),
                    key=c.vessel_id,
                    value=JSON.encode(command),
                )
                self._asked[key] = now
                sent.append(command)
                REQUESTED.inc()
                _log.info(
                    "backfill requested",
                    extra={"vessel": c.vessel_id, "container": c.container_id, "gap": [lo, hi]},
                )
        if self._producer.flush(30) != 0:  # they stay queued, and go with a later flush
            raise ShoreBusy("backfill commands were not acknowledged by the shore cluster yet")
        return sent

    def round(self, bootstrap: str, *, retry_later: bool = True) -> list[Command] | None:
        """One look at the fleet's completeness and the requests it calls for; None when a
        transient error (a broker away, a leader moving) made this round skip, if
        ``retry_later``."""
        try:
            return self.request(read_completeness(bootstrap))
        except Exception as exc:
            if not retry_later or not is_transient(exc):
                raise
            _log.warning("backfill round skipped, the next one looks again: %s", exc)
            return None
