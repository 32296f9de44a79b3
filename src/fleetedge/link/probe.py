"""Does the vessel answer through the link? One long-lived connection per vessel asks.

A fresh client per look pays the whole handshake (TCP, TLS, SASL, API versions) every time:
over a satellite link of 128 kbit/s and 600 ms that is more than any sane timeout, so a slow
link looked cut for good, and a bulk connector held for the cut was never resumed. A client
kept open pays it once; after a cut it reconnects in the background and answers again as soon
as that is done.
"""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException

from fleetedge.events.topics import ALERTS
from fleetedge.link.health import QuietLogger
from fleetedge.link.mirror import BULK
from fleetedge.security.clients import kafka_config


class LinkProbe:
    """Metadata of one small topic through ``bootstrap`` (the vessel as the shore reaches it)."""

    def __init__(self, bootstrap: str, timeout: float = 3.0) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._consumer: Consumer | None = None

    def answers(self) -> bool:
        """True if the vessel answered within ``timeout``: the link is up."""
        if self._consumer is None:
            self._consumer = Consumer(
                {
                    **kafka_config(self.bootstrap),
                    "group.id": "fleetedge-link-probe",
                    # After a cut it comes back with the link's other slow clients, not in
                    # the alerts' first seconds: its reconnection is up to six connections'
                    # handshakes (each broker by its bootstrap and by its id), ~5 kB that
                    # queued ahead of the alert at 64 kbit/s. The bulk waits for it anyway.
                    "reconnect.backoff.ms": BULK.reconnect_ms,
                    "reconnect.backoff.max.ms": BULK.reconnect_max_ms,
                    "logger": QuietLogger(),
                }
            )
        try:
            self._consumer.list_topics(ALERTS.name, timeout=self.timeout)
        except KafkaException:
            return False
        return True

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
