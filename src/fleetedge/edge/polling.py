"""The consuming loop of the vessel's command services (the resender, the command handler).

MirrorMaker 2 creates the commands topic with its first command, so "unknown topic" is waited
out; other consumer errors are logged, as librdkafka recovers from broker and coordinator
changes by itself; only a fatal client error stops the service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message

from fleetedge.edge.exceptions import EdgeError

_log = logging.getLogger(__name__)
_NOT_YET = (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)


def consume_each(
    consumer: Consumer,
    stop: threading.Event,
    handle: Callable[[Message], None],
    *,
    what: str,
    idle_timeout: float | None = None,
) -> None:
    """Call ``handle`` on each record until ``stop`` is set, or ``idle_timeout`` seconds pass
    without one."""
    idle_since = time.monotonic()
    while not stop.is_set():
        msg = consumer.poll(0.5)
        if msg is None:
            if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                return
            continue
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise EdgeError(f"{what} consumer failed: {error}")
            if error.code() not in _NOT_YET:
                _log.warning("%s consumer: %s", what, error)
            continue
        idle_since = time.monotonic()
        handle(msg)
