"""The vessel's command handler: shore commands delivered to the reefer controllers, each once.

The downlink brings the shore's commands aboard at least once (MirrorMaker 2 may repeat some
after a restart). For each command other than ``resend`` (the resender's), the handler:

1. skips it if its id was already answered (the ids come from ``vessel.command_acks``, read
   at start after fencing any previous instance, then kept as it answers);
2. in one transaction, acknowledges it (``accepted``: delivered; ``expired`` if its expiry
   passed before it arrived; ``rejected`` if it names no container or another vessel) and, if
   accepted, passes it to the reefer controllers on ``reefer.controls``;
3. commits the transaction, then the group's offset (asynchronously: a re-read command is
   skipped at step 1, so the offset only saves work).

So a command reaches the controllers exactly once, whatever the downlink repeats and whenever
the handler is killed. Kafka's transaction fences a zombie handler by its transactional id.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from prometheus_client import Counter

from fleetedge.edge.exceptions import EdgeError
from fleetedge.edge.polling import consume_each
from fleetedge.events import JSON, Command, CommandAck, EventError, decode
from fleetedge.events import topics as t
from fleetedge.events.vessel import CommandAction, CommandStatus
from fleetedge.runtime.reading import read_to_end
from fleetedge.runtime.retry import GROUP_SESSION_TIMEOUT_MS, retrying
from fleetedge.runtime.watchdog import deadline
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
HANDLED = Counter("fleetedge_edge_commands_total", "commands answered aboard", ["status"])
REPEATS = Counter("fleetedge_edge_command_repeats_total", "commands delivered again, skipped")
TIMEOUT_S = 60.0


def ack_id(command_id: uuid.UUID, status: CommandStatus) -> uuid.UUID:
    """The id of an acknowledgement: one per command and status, the same if written again."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:ack:{command_id}:{status.value}")


def answer(vessel: str, command: Command, now: datetime) -> tuple[CommandStatus, str]:
    """What the handler says to a command arriving at ``now``."""
    if command.vessel_id != vessel:
        return CommandStatus.REJECTED, f"addressed to {command.vessel_id}, not {vessel}"
    if command.container_id is None:
        return CommandStatus.REJECTED, f"{command.action.value} needs a container"
    if now >= command.expires_at:
        return CommandStatus.EXPIRED, (
            f"arrived {now.isoformat(timespec='seconds')}, after its expiry "
            f"{command.expires_at.isoformat(timespec='seconds')}: not applied"
        )
    return CommandStatus.ACCEPTED, "delivered aboard"


class CommandHandler:
    """Deliver shore commands aboard (see the module docstring)."""

    def __init__(
        self,
        vessel: str,
        bootstrap: str,
        *,
        commands_topic: str,
        acks_topic: str = t.COMMAND_ACKS.name,
        controls_topic: str = t.CONTROLS.name,
    ) -> None:
        self.vessel = vessel
        self.bootstrap = bootstrap
        self.commands_topic = commands_topic
        self.acks_topic = acks_topic
        self.controls_topic = controls_topic
        self.answered: set[uuid.UUID] = set()
        self.handled = 0
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                **kafka_config(bootstrap),
                "group.id": f"commands-{vessel}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # MirrorMaker 2 creates the commands topic with the first command.
                "topic.metadata.refresh.interval.ms": 10_000,
                "session.timeout.ms": GROUP_SESSION_TIMEOUT_MS,
                "logger": _kafka_log,
            }
        )
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "transactional.id": f"commands-{vessel}",
                "acks": "all",
                "logger": _kafka_log,
            }
        )

    def start(self) -> CommandHandler:
        """Fence any previous handler, learn what it answered, then subscribe."""
        self._producer.init_transactions(TIMEOUT_S)
        for value in read_to_end(self.bootstrap, self.acks_topic):
            try:
                ack = decode(value)
            except EventError:
                continue
            if isinstance(ack, CommandAck):
                self.answered.add(ack.command_id)
        self._consumer.subscribe([self.commands_topic])
        return self

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> CommandHandler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *, idle_timeout: float | None = None) -> None:
        consume_each(
            self._consumer, self._stop, self._take, what="commands", idle_timeout=idle_timeout
        )

    def _take(self, msg: Message) -> None:
        self._handle(msg.value() or b"")
        try:
            self._consumer.commit(msg, asynchronous=True)
        except KafkaException as exc:
            _log.info("command offset not committed (skipped when read again): %s", exc)

    def _handle(self, value: bytes) -> None:
        try:
            command = decode(value)
        except EventError as exc:
            _log.warning("unreadable command skipped", extra={"reason": exc.reason})
            return
        if not isinstance(command, Command) or command.action is CommandAction.RESEND:
            return  # the resender's
        if command.command_id in self.answered:
            REPEATS.inc()
            return
        status, reason = answer(self.vessel, command, datetime.now(UTC))
        ack = CommandAck(
            event_id=ack_id(command.command_id, status),
            vessel_id=self.vessel,
            event_time=datetime.now(UTC),
            seq=command.seq,
            command_id=command.command_id,
            status=status,
            container_id=command.container_id,
            reason=reason,
        )
        with deadline(TIMEOUT_S * 3, "the command transaction"):
            self._transact(command, ack)
        self.answered.add(command.command_id)
        self.handled += 1
        HANDLED.labels(status.value).inc()
        _log.info(
            "command answered",
            extra={"command": str(command.command_id), "status": status.value, "reason": reason},
        )

    def _transact(self, command: Command, ack: CommandAck) -> None:
        """Write the ack (and the command for the controllers) in one transaction; a
        transaction the broker aborted is written again."""
        while True:
            self._producer.begin_transaction()
            self._producer.produce(
                self.acks_topic, key=str(command.command_id), value=JSON.encode(ack)
            )
            if ack.status is CommandStatus.ACCEPTED:
                self._producer.produce(
                    self.controls_topic, key=command.container_id, value=JSON.encode(command)
                )
            if self._commit():
                return

    def _commit(self) -> bool:
        """True once committed, False if the transaction had to be aborted (it is written
        again). A commit worth repeating is repeated; anything else short of fatal (an abortable
        error, a produce refused while a broker dies) aborts; a fatal error raises
        :class:`EdgeError`."""
        try:
            retrying(
                lambda: self._producer.commit_transaction(TIMEOUT_S),
                what="commit",
                deadline_s=TIMEOUT_S,
            )
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.fatal():
                raise EdgeError(f"command transaction failed: {error}") from exc
            _log.warning("command transaction aborted, written again: %s", error)
            retrying(
                lambda: self._producer.abort_transaction(TIMEOUT_S),
                what="abort",
                deadline_s=TIMEOUT_S,
            )
            return False
        return True
