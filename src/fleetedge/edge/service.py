"""The edge processor as an exactly-once Kafka service.

Commit protocol, per batch of telemetry records:

1. begin a transaction;
2. for each record, in offset order, let :class:`EdgeLogic` update the state and produce its
   outputs (aggregates, alerts, status, dead letters);
3. produce every state key changed by the batch, and the next input offset (the ``@position``
   key), to the compacted changelog topic;
4. commit. Outputs, state and position become visible together or not at all;
5. then copy the position to the consumer group, asynchronously, for the lag tools to see.

On start, ``init_transactions`` fences any earlier instance with the same transactional id and
aborts its open transaction; the state is then rebuilt from the changelog (read_committed) and
consumption resumes at the position it holds, which describes the same instant. There is no
local state directory to lose.

Transient Kafka errors (a broker restarting moves leaders and coordinators) are retried where
they happen: a commit is retried, a transaction that must be aborted is aborted and the batch
done again from the state and position the changelog holds (the same recovery as a start, in
process). Only a fatal error (fenced by a newer instance, say) ends the service, with
:class:`EdgeError` and one line; a supervisor restarts it, and recovery makes the restart
invisible in the output.

The position lives in the changelog, not in a ``send_offsets_to_transaction`` to the group:
librdkafka can block in that call for good when the group coordinator broker dies (issues
#5456 and #5511, open), and a vessel's broker dying is the edge's everyday failure. A
changelog written before the position key existed resumes at the group's committed offset.

The telemetry topic has one partition per vessel on purpose: the rules correlate containers
across the vessel, and one partition gives the one order that makes a replay repeat exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from prometheus_client import Counter, Gauge

from fleetedge.edge import keys
from fleetedge.edge.exceptions import EdgeError
from fleetedge.edge.logic import EdgeLogic
from fleetedge.edge.state import ChangelogState
from fleetedge.events import topics
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.retry import retrying, transient_error
from fleetedge.runtime.watchdog import deadline
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
# Readings per transaction at most. A batch fills only while a backlog is read (after a
# restart, a replay): live, a vessel's readings come a few dozen a second and each batch is
# what arrived. The changelog gets each changed key once per transaction, so a large batch
# writes a container's state once for several of its readings: 10,000 readings (4 minutes of
# a 2,500-reefer vessel) serialise about one state record a reading, where 1,000 made four, the
# edge's largest cost. A batch takes about a second to process and commit on 2 cores.
BATCH = 10_000
RECORDS = Counter("fleetedge_edge_records_total", "telemetry records processed")
DEAD = Counter("fleetedge_edge_dead_letters_total", "records dead-lettered", ["error"])
LAG = Gauge("fleetedge_edge_consumer_lag", "telemetry records not yet processed")
ALERT_EVENTS = Counter("fleetedge_edge_alert_events_total", "alert events emitted")
ABORTED = Counter("fleetedge_edge_aborted_transactions_total", "batches aborted and redone")
OPEN_ALERTS = Gauge("fleetedge_edge_open_alerts", "alerts raised and not yet cleared")


class EdgeService:
    """Run :class:`EdgeLogic` over a vessel's telemetry topic with exactly-once semantics."""

    def __init__(
        self,
        logic: EdgeLogic,
        *,
        bootstrap: str,
        group_id: str,
        transactional_id: str,
        batch: int = BATCH,
    ) -> None:
        self.logic = logic
        self.bootstrap = bootstrap
        self.batch = batch
        self.state = ChangelogState()
        self.topics = logic.topics
        self._start_at = 0
        self._batches = 0
        self._tp = TopicPartition(self.topics.telemetry, 0)
        self._consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": group_id,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "logger": _kafka_log,
            }
        )
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "transactional.id": transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 10,
                # Cheap here; what crosses the link the vessel's brokers compress again as
                # its topics say (zstd, the windows at level 19: events/topics.py).
                "compression.type": "lz4",
                "transaction.timeout.ms": 60_000,
                "logger": _kafka_log,
            }
        )

    def ensure_topics(self, replication_factor: int = 3) -> None:
        """The edge's topics, with their vessel topics' compression (how they cross the link);
        not the rest of their config, whose two in-sync replicas a one-broker test lacks."""
        t = self.topics
        named = (
            (t.telemetry, topics.TELEMETRY),
            (t.aggregates, topics.AGGREGATES),
            (t.alerts, topics.ALERTS),
            (t.status, topics.STATUS),
            (t.dead_letters, topics.TELEMETRY_DLQ),
        )
        for name, spec in named:
            create_topic(
                self.bootstrap,
                name,
                partitions=1,
                replication_factor=replication_factor,
                config=spec.compression,
            )
        create_topic(
            self.bootstrap,
            t.changelog,
            partitions=1,
            replication_factor=replication_factor,
            config={"cleanup.policy": "compact"},
        )

    def start(self) -> EdgeService:
        retrying(lambda: self._producer.init_transactions(60), what="init_transactions")
        self._recover()
        return self

    def _recover(self) -> None:
        """Rebuild the state from the changelog and resume at the position it holds."""
        self.state = ChangelogState()
        restored = retrying(
            lambda: self.state.restore(self.bootstrap, self.topics.changelog),
            what="restoring the changelog",
        )
        position = self.state.get(keys.POSITION)
        if position is None:  # a changelog from before the position key
            committed = retrying(
                lambda: self._consumer.committed([self._tp], timeout=30), what="committed offset"
            )
            position = max(committed[0].offset, 0)
        start_at = int(position)
        self._start_at = start_at
        self._consumer.assign([TopicPartition(self._tp.topic, 0, start_at)])
        _log.info("edge started at offset %s with %s state records restored", start_at, restored)

    def step(self, timeout: float = 0.5) -> int:
        """Process one batch in one transaction; the number of records."""
        msgs = []
        for msg in self._consumer.consume(self.batch, timeout=timeout):
            error = msg.error()
            if error is None:
                msgs.append(msg)
            elif not transient_error(error):
                raise EdgeError(f"reading {self._tp.topic}: {error}")
            else:  # librdkafka reconnects on its own; the records come with a later consume
                _log.warning("transient consumer error: %s", error)
        if not msgs:
            return 0
        try:
            self._transact(msgs)
        except KafkaException as exc:
            # Anything short of fatal (an abortable error, a produce refused while a broker
            # dies) aborts the transaction; the batch is done again from the changelog.
            error = exc.args[0]
            if error.fatal():
                raise EdgeError(f"the edge's transaction failed: {error}") from exc
            _log.warning("transaction aborted, the batch is done again: %s", error)
            ABORTED.inc()
            try:
                retrying(lambda: self._producer.abort_transaction(60), what="abort_transaction")
            except KafkaException as failed:
                raise EdgeError(
                    f"the edge's transaction failed ({error}) and could not be aborted: "
                    f"{failed.args[0]}"
                ) from exc
            self._recover()
            return 0
        try:  # for the lag tools only: the position that counts is in the changelog
            self._consumer.commit(
                offsets=[TopicPartition(self._tp.topic, 0, msgs[-1].offset() + 1)],
                asynchronous=True,
            )
        except KafkaException as exc:
            _log.warning("the group's offset is not updated this time: %s", exc)
        RECORDS.inc(len(msgs))
        OPEN_ALERTS.set(self.logic.open_alerts)
        self._batches += 1
        if len(msgs) < self.batch or self._batches % 20 == 0:
            self.caught_up()  # refreshes the lag gauge
        return len(msgs)

    def _transact(self, msgs: list[Message]) -> None:
        """Steps 1 to 4 of the commit protocol; a retriable commit error is retried."""
        self._producer.begin_transaction()
        for msg in msgs:
            for out in self.logic.handle(self.state, msg.value(), msg.partition(), msg.offset()):
                self._producer.produce(out.topic, out.value, key=out.key, headers=out.headers)
                if out.topic == self.topics.dead_letters:
                    DEAD.labels(dict(out.headers).get("error", b"?").decode()).inc()
                elif out.topic == self.topics.alerts:
                    ALERT_EVENTS.inc()
        self.state.set(keys.POSITION, msgs[-1].offset() + 1)
        for key, value in self.state.drain():
            self._producer.produce(self.topics.changelog, value, key=key)
        # The commit has a timeout of its own; the deadline guards against one ignored
        # (see runtime.watchdog). librdkafka flags a commit worth repeating as retriable.
        with deadline(180, "the edge's transaction commit"):
            retrying(lambda: self._producer.commit_transaction(60), what="commit_transaction")

    def caught_up(self) -> bool:
        """Whether every record up to the high watermark has been processed and committed
        (False while the partition's leader cannot be asked: a broker restarting)."""
        try:
            _, high = self._consumer.get_watermark_offsets(self._tp, timeout=10, cached=False)
        except KafkaException as exc:
            # Only the lag gauge (and --exit-when-idle) waits on the answer: anything short of
            # fatal is asked again next time.
            if exc.args[0].fatal():
                raise EdgeError(f"asking the end of {self._tp.topic}: {exc}") from exc
            _log.warning("end offset unknown for now: %s", exc)
            return False
        position = max(self._consumer.position([self._tp])[0].offset, self._start_at)
        LAG.set(max(0, high - position))
        return bool(position >= high)

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.step()

    def close(self) -> None:
        self._consumer.close()
        self._producer.flush(30)
