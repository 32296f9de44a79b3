"""What a running cluster says about itself: registered brokers, partitions, ISR, quorum leader.

Broker views come from the metadata API (confluent-kafka); the KRaft quorum leader comes from
each live node's ``quorum-state`` file, which the node rewrites on every election, so status
works even while the metadata API has no leader to answer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from fleetedge.runtime.exceptions import ClusterTimeoutError
from fleetedge.security.clients import kafka_config

PROBE_TOPIC = "fleetedge.probe"
# Admin errors worth a new attempt even when librdkafka does not flag them retriable.
_RETRY_CODES = frozenset(
    {
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError.NOT_CONTROLLER,
        KafkaError.REQUEST_TIMED_OUT,
    }
)
_log = logging.getLogger("fleetedge.runtime.kafka")


@dataclass(frozen=True)
class PartitionView:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)


@dataclass(frozen=True)
class MetadataView:
    """The brokers and partitions one metadata request returned."""

    brokers: frozenset[int]
    partitions: tuple[PartitionView, ...]

    def under_replicated(self) -> list[PartitionView]:
        return [p for p in self.partitions if p.under_replicated]

    def topic(self, name: str) -> list[PartitionView]:
        return sorted((p for p in self.partitions if p.topic == name), key=lambda p: p.partition)


@dataclass(frozen=True)
class QuorumView:
    """A node's view of the KRaft quorum, from its quorum-state file."""

    node: int
    leader: int | None
    epoch: int


def admin(bootstrap: str, **extra: Any) -> AdminClient:
    return AdminClient({**kafka_config(bootstrap), "logger": _log, **extra})


def metadata(bootstrap: str, timeout: float = 5.0) -> MetadataView:
    """Brokers and partitions as the cluster reports them (KafkaException if unreachable)."""
    md = admin(bootstrap).list_topics(timeout=timeout)
    partitions = tuple(
        PartitionView(
            topic=name,
            partition=pid,
            leader=p.leader,
            replicas=tuple(p.replicas),
            isr=tuple(p.isrs),
        )
        for name, topic in md.topics.items()
        for pid, p in topic.partitions.items()
    )
    return MetadataView(brokers=frozenset(md.brokers), partitions=partitions)


def read_quorum_state(data_dir: Path, node: int) -> QuorumView | None:
    """The node's last written quorum state, or None if it has none (yet)."""
    path = data_dir / "__cluster_metadata-0" / "quorum-state"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    leader = int(raw.get("leaderId", -1))
    return QuorumView(
        node=node, leader=leader if leader >= 0 else None, epoch=int(raw.get("leaderEpoch", -1))
    )


def quorum_leader(views: list[QuorumView], live_nodes: set[int]) -> tuple[int | None, int]:
    """The current quorum leader (None while electing) and its epoch, from live nodes' views.

    The newest epoch wins; its leader counts only if that node is alive and a majority of the
    live nodes have seen that epoch, so a dead node's stale file never names a leader.
    """
    live = [v for v in views if v.node in live_nodes]
    if not live:
        return None, -1
    newest = max(v.epoch for v in live)
    leaders = {v.leader for v in live if v.epoch == newest}
    leader = next(iter(leaders)) if len(leaders) == 1 else None
    if leader is None or leader not in live_nodes:
        return None, newest
    return leader, newest


def create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int = 1,
    replication_factor: int = 3,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> bool:
    """Create a topic; False if it already existed.

    Retriable errors are retried until ``timeout`` with a fresh client: right after a broker
    dies, metadata can still name it as the controller to send CreateTopics to.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = min(10.0, max(1.0, deadline - time.monotonic()))
        client = admin(bootstrap)  # must outlive the future: destroying it cancels the request
        future = client.create_topics(
            [NewTopic(name, partitions, replication_factor, config=config or {})],
            operation_timeout=remaining,
            request_timeout=remaining,
        )[name]
        try:
            future.result(timeout=remaining + 5)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return False
            if error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                # On a secured shore, services may not create topics: the fleet's admin made
                # them (`fleet up`). A topic that truly is missing fails its first use, loudly.
                _log.info("not allowed to create topic %s: it is provisioned by the admin", name)
                return False
            if (error.retriable() or error.code() in _RETRY_CODES) and time.monotonic() < deadline:
                _log.info("retrying creation of topic %s: %s", name, error)
                continue
            raise
        return True


def set_topic_config(
    bootstrap: str, name: str, config: dict[str, str], timeout: float = 30.0
) -> None:
    """Set ``config`` on an existing topic, its other settings untouched (an incremental
    alter: ``SET`` each key)."""
    entries = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
        for key, value in config.items()
    ]
    resource = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
    client = admin(bootstrap)
    client.incremental_alter_configs([resource], request_timeout=timeout)[resource].result(
        timeout=timeout + 5
    )


def probe_write(bootstrap: str, replication_factor: int, timeout: float = 20.0) -> None:
    """Create the probe topic if needed and write one record to it with acks=all.

    Raises KafkaException when the write is not acknowledged within ``timeout``.
    """
    create_topic(
        bootstrap, PROBE_TOPIC, partitions=1, replication_factor=replication_factor, timeout=timeout
    )
    producer = Producer(
        {
            **kafka_config(bootstrap),
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": int(timeout * 1000),
            "logger": _log,
        }
    )
    outcome: list[KafkaError | None] = []
    producer.produce(PROBE_TOPIC, b"probe", on_delivery=lambda err, _msg: outcome.append(err))
    remaining = producer.flush(timeout + 5)
    if remaining or not outcome:
        raise ClusterTimeoutError(f"probe write to {PROBE_TOPIC} not acknowledged in {timeout}s")
    if outcome[0] is not None:
        raise KafkaException(outcome[0])
