"""Putting a checked command on its way: the fleet's command log and the vessel's topic, at once.

1. Build the :class:`~fleetedge.events.vessel.Command` (a new id, the expiry, who issued it);
2. in one Kafka transaction, write it to ``fleet.command-log`` (the audit log the lifecycle
   starts from) and to ``fleet.commands.<vessel>`` (which the downlink carries aboard);
3. commit. A reader with ``read_committed`` sees both or neither, so no command travels that
   the log does not show, and no logged command is missing from the vessel's queue.

``seq`` numbers the commands of one issuer process (time-based, so a restarted issuer keeps
counting upwards). The transactional id is unique per process: an issuer writes, it never
consumes, so there is no zombie to fence.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import KafkaException, Producer

from fleetedge.commands.exceptions import CommandError
from fleetedge.commands.safety import CommandRequest, expiry
from fleetedge.events import JSON, Command
from fleetedge.events import topics as t
from fleetedge.link.mirror import commands_topic
from fleetedge.security.clients import kafka_config

_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
TIMEOUT_S = 30.0


class CommandIssuer:
    """Issue commands to the shore cluster at ``bootstrap`` (see the module docstring)."""

    def __init__(self, bootstrap: str, *, log_topic: str = t.FLEET_COMMAND_LOG.name) -> None:
        self.bootstrap = bootstrap
        self.log_topic = log_topic
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self._seq = int(time.time() * 1000)

    def _ready(self) -> Producer:
        if self._producer is None:
            producer = Producer(
                {
                    **kafka_config(self.bootstrap),
                    "transactional.id": f"fleetedge-api-{uuid.uuid4().hex}",
                    "acks": "all",
                    "logger": _kafka_log,
                }
            )
            producer.init_transactions(TIMEOUT_S)
            self._producer = producer
        return self._producer

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        """Write the command; :class:`CommandError` if the shore cluster did not take it."""
        now = datetime.now(UTC)
        with self._lock:
            self._seq = max(self._seq + 1, int(time.time() * 1000))
            command = Command(
                event_id=uuid.uuid4(),
                vessel_id=request.vessel_id,
                event_time=now,
                seq=self._seq,
                command_id=uuid.uuid4(),
                action=request.action,
                container_id=request.container_id,
                params=params,
                issued_by=request.issued_by,
                expires_at=expiry(now, request.ttl),
            )
            value = JSON.encode(command)
            try:
                producer = self._ready()
                producer.begin_transaction()
                producer.produce(
                    self.log_topic,
                    key=f"{request.vessel_id}/{request.container_id}",
                    value=value,
                )
                producer.produce(
                    commands_topic(request.vessel_id), key=request.vessel_id, value=value
                )
                producer.commit_transaction(TIMEOUT_S)
            except KafkaException as exc:
                self._abandon()
                raise CommandError(
                    f"the shore cluster did not take the command: {exc.args[0]}",
                    hint="nothing was sent; try again once the shore cluster is healthy",
                ) from exc
        return command

    def _abandon(self) -> None:
        """Drop the producer after a failed transaction: the next command starts a new one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            # An abort that fails leaves the transaction to time out on the broker.
            with contextlib.suppress(KafkaException):
                producer.abort_transaction(5)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(10)
                self._producer = None
