"""The projector: fleet topics into a read model, offsets in the same transaction as the rows.

Commit protocol, per batch:

1. consume up to ``batch`` records from the partitions it holds (read committed);
2. in one database transaction: write every record's rows (idempotent upserts, see
   :mod:`fleetedge.projections.rows`) and each partition's next offset into ``offsets``;
3. commit. A crash anywhere before 3 leaves neither rows nor offsets: the batch is read again.

No consumer group holds the offsets: the projector assigns every partition itself and starts
where the read model's ``offsets`` table says, so the read model and its position can never
disagree. A projector serving the live generation follows the catalog: after a rebuild swaps
in generation N+1, it continues there from that generation's offsets.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition
from prometheus_client import Counter, Gauge

from fleetedge.projections import base, rows
from fleetedge.projections.bulk import BulkWriter
from fleetedge.projections.exceptions import ProjectionError
from fleetedge.runtime.reading import watermarks
from fleetedge.runtime.retry import transient_error
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
WRITTEN = Counter("fleetedge_projection_records_total", "records written to the read model")
SKIPPED = Counter("fleetedge_projection_skipped_total", "records the read model could not read")
GENERATION = Gauge("fleetedge_projection_generation", "the generation the projector writes")


@dataclass
class Progress:
    records: int = 0
    batches: int = 0
    skipped: int = 0


def partitions(consumer: Consumer, topics: tuple[str, ...]) -> list[TopicPartition]:
    meta = consumer.list_topics(timeout=30)
    out: list[TopicPartition] = []
    for topic in topics:
        if topic not in meta.topics or meta.topics[topic].error is not None:
            raise ProjectionError(f"topic {topic} is missing: create the shore topics first")
        out.extend(TopicPartition(topic, p) for p in sorted(meta.topics[topic].partitions))
    return out


def stored_offsets(db: base.Database, generation: int) -> dict[tuple[str, int], int]:
    with db.transaction() as cur:
        cur.execute(f"SELECT topic, part, next_offset FROM {base.table(generation, 'offsets')}")
        return {(str(r[0]), int(r[1])): int(r[2]) for r in cur.fetchall()}


class Projector:
    """Write the ``fleet`` read model from the fleet topics (see the module docstring).

    ``generation`` pins a table set (a rebuild writes its new one); None follows the catalog.
    ``stop_at`` bounds each partition (next offset not to read): a rebuild up to the offsets
    a live read model had reaches the same state. ``crash_in_batch`` is a test seam: SIGKILL the
    process in that batch, after the rows are written and before the transaction commits.
    ``bulk`` (a rebuild's pinned generation only) folds and writes on a thread, see
    :mod:`fleetedge.projections.bulk`.
    """

    def __init__(
        self,
        db: base.Database,
        bootstrap: str,
        *,
        name: str = "fleet",
        generation: int | None = None,
        batch: int = 2000,
        crash_in_batch: int | None = None,
        stop_at: dict[tuple[str, int], int] | None = None,
        bulk: bool = False,
    ) -> None:
        if bulk and generation is None:
            raise ProjectionError("bulk writing is for a pinned generation (a rebuild) only")
        self.db = db
        self.stop_at = stop_at
        self.name = name
        self.follow = generation is None
        self.generation = generation or base.ensure_projection(db, name)
        self.batch = batch
        self.crash_in_batch = crash_in_batch
        self.progress = Progress()
        self.at_end: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": f"fleetedge-projector-{name}",  # never commits: offsets are in the db
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "fetch.max.bytes": 16 * 1024 * 1024,
                "logger": _kafka_log,
            }
        )
        self._all: list[TopicPartition] = []
        self._checked = 0.0
        self._bulk = BulkWriter(db, self.generation) if bulk else None

    def start(self) -> Projector:
        base.create_tables(self.db, self.generation)
        self._all = partitions(self._consumer, rows.TOPICS)
        self._assign()
        if self._bulk is not None:
            self._bulk.start()
        return self

    def _assign(self) -> None:
        stored = stored_offsets(self.db, self.generation)
        assignment = [
            TopicPartition(tp.topic, tp.partition, stored.get((tp.topic, tp.partition), -2))
            for tp in self._all
        ]
        for tp in assignment:
            if tp.offset < 0:
                tp.offset = OFFSET_BEGINNING
        self._consumer.assign(assignment)
        self.at_end.clear()
        if self.stop_at is not None:
            self.at_end.update(
                (tp.topic, tp.partition)
                for tp in assignment
                if self.stop_at.get((tp.topic, tp.partition), 0) <= max(0, tp.offset)
            )
        GENERATION.set(self.generation)
        _log.info(
            "projector assigned",
            extra={"generation": self.generation, "partitions": len(assignment)},
        )

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._bulk is not None:
            self._bulk.close()
        self._consumer.close()

    def __enter__(self) -> Projector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def caught_up(self) -> bool:
        """Every partition read to its end (as of the last end-of-partition event)."""
        return len(self.at_end) == len(self._all)

    def run(
        self,
        *,
        until: Callable[[Projector], bool] | None = None,
        idle_timeout: float | None = None,
    ) -> Progress:
        """Project until :meth:`stop`, ``until(self)`` holds, or ``idle_timeout`` s of no input."""
        idle_since = time.monotonic()
        while not self._stop.is_set():
            if until is not None and until(self):
                break
            if self.follow and time.monotonic() - self._checked > 1.0:
                self._follow_catalog()
                self._checked = time.monotonic()
            msgs = self._consumer.consume(self.batch, 0.5)
            fast = self.stop_at is None and not any(m.error() for m in msgs)
            # The common batch is records only, each usable; else each message is looked at.
            records = msgs if fast else [m for m in msgs if self._usable(m)]
            if records:
                partitions = self.write(records)
                if fast and self.at_end:  # records after an end-of-partition: not at its end
                    self.at_end.difference_update(partitions)
                idle_since = time.monotonic()
            elif idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                break
        if self._bulk is not None:
            self._bulk.finish()
        return self.progress

    def _follow_catalog(self) -> None:
        current = base.current_generation(self.db, self.name)
        if current is not None and current != self.generation:
            _log.info("projector follows a swap", extra={"from": self.generation, "to": current})
            self.generation = current
            self._assign()

    def _usable(self, msg: Message) -> bool:
        error = msg.error()
        key = (msg.topic(), msg.partition())
        if error is None and self.stop_at is not None:
            bound = self.stop_at.get(key, 0)
            if msg.offset() >= bound - 1:
                self.at_end.add(key)
            return bool(msg.offset() < bound)
        if error is None:
            self.at_end.discard(key)
            return True
        if error.code() == KafkaError._PARTITION_EOF:
            if self.stop_at is None or msg.offset() >= self.stop_at.get(key, 0):
                self.at_end.add(key)
            return False
        if transient_error(error):  # a leader moving: the records come with a later fetch
            _log.warning("transient consumer error: %s", error)
            return False
        raise ProjectionError(f"projector consumer error: {error}")

    def write(self, msgs: list[Message]) -> set[tuple[str, int]]:
        """Steps 2 and 3 of the commit protocol for one batch; returns the partitions read."""
        batch = [(m.topic(), m.value() or b"") for m in msgs]
        offsets = {(m.topic(), m.partition()): m.offset() + 1 for m in msgs}
        if self._bulk is not None:
            prepared = rows.prepare(self.generation, batch, reduce=False)
            self._bulk.add(prepared, offsets)
            skipped = prepared.skipped
        else:
            with self.db.transaction() as cur:
                skipped = rows.write(cur, self.generation, batch)
                base.write_offsets(cur, self.generation, offsets)
                if self.crash_in_batch == self.progress.batches + 1:
                    _log.warning("test seam: SIGKILL before the commit")
                    os.kill(os.getpid(), signal.SIGKILL)
        self.progress.batches += 1
        self.progress.records += len(msgs)
        self.progress.skipped += skipped
        WRITTEN.inc(len(msgs) - skipped)
        SKIPPED.inc(skipped)
        if skipped:
            _log.error("records skipped as unreadable", extra={"count": skipped})
        return set(offsets)


def end_offsets(bootstrap: str, topics: tuple[str, ...]) -> dict[tuple[str, int], int]:
    """The high watermark of every partition of ``topics``."""
    consumer = Consumer(
        {**kafka_config(bootstrap), "group.id": "fleetedge-offsets", "logger": _kafka_log}
    )
    try:
        return {
            (tp.topic, tp.partition): watermarks(consumer, tp)[1]
            for tp in partitions(consumer, topics)
        }
    finally:
        consumer.close()
