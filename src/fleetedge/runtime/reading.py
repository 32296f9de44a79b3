"""Read a topic from its start to its current end, committed records only, with a deadline: the
one way FleetEdge reads a topic whole (checks, health, the story, the tests)."""

from __future__ import annotations

import logging
import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from fleetedge.runtime.exceptions import ClusterError, ClusterTimeoutError
from fleetedge.runtime.retry import retrying, transient_error
from fleetedge.security.clients import kafka_config

_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
_log = logging.getLogger(__name__)


def read_records(
    bootstrap: str, topic: str, *, timeout: float = 120.0, group: str = "fleetedge-reader"
) -> list[Message]:
    """Every committed record of ``topic`` up to the end it had when reading began, partition by
    partition in order. A missing topic reads as empty. A transient consumer error (a leader
    moving) is waited out; raises :class:`ClusterTimeoutError` (retriable) when the end is not
    reached by ``timeout``, and :class:`ClusterError` on any other consumer error. Nothing is
    committed, but on a secured cluster the principal needs rights on ``group`` (the consumer
    asks its coordinator)."""
    consumer = Consumer(
        {
            **kafka_config(bootstrap),
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "logger": _kafka_log,
        }
    )
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        parts = [
            TopicPartition(topic, p, OFFSET_BEGINNING)
            for p in partitions_of(consumer, topic, deadline_s=timeout)
        ]
        ends = {tp.partition: _end(consumer, tp, deadline) for tp in parts}
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign(parts)
        while pending:
            if time.monotonic() > deadline:
                raise ClusterTimeoutError(
                    f"reading {topic} did not reach its end in {timeout:.0f}s"
                )
            for msg in consumer.consume(5000, 1.0):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                        continue
                    if not transient_error(error):
                        raise ClusterError(f"reading {topic}: {error}")
                    _log.warning("reading %s: %s; going on", topic, error)
                    continue
                if msg.offset() < ends[msg.partition()]:
                    records.append(msg)
                if msg.offset() + 1 >= ends[msg.partition()]:
                    pending.discard(msg.partition())
        return records
    finally:
        consumer.close()


def read_to_end(bootstrap: str, topic: str, *, timeout: float = 120.0) -> list[bytes]:
    """The values of :func:`read_records`."""
    return [msg.value() or b"" for msg in read_records(bootstrap, topic, timeout=timeout)]


def end_offset(bootstrap: str, topic: str) -> int:
    """The sum of the high watermarks of ``topic``'s partitions (0 for a missing topic)."""
    consumer = Consumer(
        {**kafka_config(bootstrap), "group.id": "fleetedge-reader", "logger": _kafka_log}
    )
    try:
        deadline = time.monotonic() + 60
        found = partitions_of(consumer, topic, deadline_s=60)
        return sum(_end(consumer, TopicPartition(topic, p), deadline) for p in found)
    finally:
        consumer.close()


def partitions_of(consumer: Consumer, topic: str, *, deadline_s: float = 60.0) -> list[int]:
    """``topic``'s partitions, none for a topic that does not exist. A transient error in its
    metadata (a leader not elected yet) is waited out until ``deadline_s``, never read as an
    empty topic; any other (no right to describe it) raises :class:`ClusterError`."""

    def ask() -> list[int]:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None:
            return []
        error = meta.error
        if error is None:
            return sorted(meta.partitions)
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return []
        if transient_error(error):
            raise ClusterTimeoutError(f"the metadata of {topic}: {error.str()}")
        raise ClusterError(f"the metadata of {topic}: {error.str()}")

    return retrying(ask, what=f"the partitions of {topic}", deadline_s=deadline_s)


def _end(consumer: Consumer, tp: TopicPartition, deadline: float) -> int:
    """The partition's high watermark; a leader not elected yet or moving is waited out."""
    return watermarks(consumer, tp, deadline_s=max(1.0, deadline - time.monotonic()))[1]


def watermarks(
    consumer: Consumer, tp: TopicPartition, *, deadline_s: float = 60.0
) -> tuple[int, int]:
    """The partition's (low, high) watermarks. A topic not known yet (just created: the client,
    or the broker asked, has not learnt of it) and a leader not elected yet or moving are waited
    out until ``deadline_s``; past it, or on a fatal error, the error is raised."""

    def ask() -> tuple[int, int]:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() in _NOT_KNOWN_YET:
                raise ClusterTimeoutError(f"{tp.topic}[{tp.partition}] is not known yet") from exc
            raise
        return int(low), int(high)

    return retrying(
        ask, what=f"the watermarks of {tp.topic}[{tp.partition}]", deadline_s=deadline_s
    )


# What the client says of a partition missing from its metadata (the broker's own word for it,
# UNKNOWN_TOPIC_OR_PART, is transient everywhere: fleetedge.runtime.retry).
_NOT_KNOWN_YET = frozenset({KafkaError._UNKNOWN_PARTITION, KafkaError._UNKNOWN_TOPIC})
