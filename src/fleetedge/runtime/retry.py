"""Retriable means retried: which errors are transient, one :class:`Backoff`, and :func:`retrying`.

A broker that restarts moves partition leadership and group coordinators; for a few seconds
clients see "not leader", "coordinator loading", timeouts and transport errors. Services retry
those with a backoff and go on; anything else is fatal and ends the service with a one-line
reason (the supervisor restarts it, but a transient error must never be the cause).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

from fleetedge.exceptions import FleetEdgeError

T = TypeVar("T")
_log = logging.getLogger("fleetedge.runtime.retry")

# A group member's session (librdkafka's default is 45 s). A service killed and restarted at
# once joins a group still waiting on its dead self, which holds the partitions until its
# session ends: a killed normalizer stopped all of the shore's intake for 45 s.
GROUP_SESSION_TIMEOUT_MS = 10_000

# Transient even where librdkafka does not flag the error retriable: the errors Kafka itself
# classes as retriable (stale metadata, a leader or coordinator moving, too few replicas).
TRANSIENT_CODES = frozenset(
    {
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._WAIT_COORD,
        KafkaError._NO_OFFSET,
        KafkaError._DESTROY_BROKER,  # a broker's connection torn down as it died
        KafkaError._NODE_UPDATE,
        KafkaError._RESOLVE,
        KafkaError._RETRY,
        KafkaError._TIMED_OUT_QUEUE,
        KafkaError._WAIT_CACHE,
        KafkaError._UNKNOWN_BROKER,
        KafkaError._ISR_INSUFF,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.REPLICA_NOT_AVAILABLE,
        KafkaError.OFFSET_NOT_AVAILABLE,
        KafkaError.KAFKA_STORAGE_ERROR,
        KafkaError.UNSTABLE_OFFSET_COMMIT,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_CONTROLLER,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.CONCURRENT_TRANSACTIONS,
    }
)


def is_transient(exc: BaseException) -> bool:
    """Whether the same call may succeed if simply tried again later."""
    if isinstance(exc, FleetEdgeError):
        return exc.retriable
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        error: KafkaError = exc.args[0]
        if error.txn_requires_abort():  # abortable: the caller aborts
            return False
        return transient_error(error)
    return False


def transient_error(error: KafkaError) -> bool:
    """Whether a client error (a consumer's error message, say) passes by itself: librdkafka
    reconnects and fetches again, so the reader logs it and goes on."""
    return not error.fatal() and (error.retriable() or error.code() in TRANSIENT_CODES)


@dataclass
class Backoff:
    """Exponential backoff: ``initial`` doubled up to ``maximum``; back to ``initial`` once
    the thing backed off from has lived ``healthy_after`` seconds."""

    initial: float = 1.0
    maximum: float = 30.0
    healthy_after: float = 30.0

    def next(self, current: float, lived: float = 0.0) -> float:
        if lived >= self.healthy_after:
            return self.initial
        return min(self.maximum, max(self.initial, 2 * current))


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    deadline_s: float = 300.0,
    backoff: Backoff | None = None,
) -> T:
    """``call()``, again after a backoff while it fails with a transient error, for up to
    ``deadline_s``; a fatal error, or a transient one past the deadline, is raised."""
    backoff = backoff or Backoff(initial=0.5, maximum=10.0)
    deadline = time.monotonic() + deadline_s
    delay = 0.0
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() >= deadline:
                raise
            delay = backoff.next(delay)
            _log.warning("%s: transient error, retrying in %.1fs: %s", what, delay, exc)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))  # the backoff itself
