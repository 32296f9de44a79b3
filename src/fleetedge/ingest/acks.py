"""MQTT acknowledgements that wait for Kafka, and keep MQTT's order.

A device's QoS 1 message is acknowledged only once Kafka has acknowledged the record it became
(the reading, or its dead letter), so a bridge that dies mid-way loses nothing: the broker
redelivers to the persistent session. MQTT 3.1.1 wants PUBACKs in the order the PUBLISHes came
(section 4.6), while Kafka acknowledges per partition, so completions are released in order.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class OrderedAcks:
    """Release ``ack(mid)`` for received messages in arrival order, as each one completes."""

    def __init__(self, ack: Callable[[int], None]) -> None:
        self._ack = ack
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._lock = threading.Lock()

    def received(self, mid: int) -> None:
        with self._lock:
            self._pending.append(mid)

    def completed(self, mid: int) -> None:
        with self._lock:
            self._done.add(mid)
            while self._pending and self._pending[0] in self._done:
                head = self._pending.popleft()
                self._done.discard(head)
                self._ack(head)

    def outstanding(self) -> int:
        with self._lock:
            return len(self._pending)
