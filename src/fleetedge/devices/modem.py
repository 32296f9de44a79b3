"""The reefer controllers' modem aboard: commands in from ``reefer.controls``, answers out.

1. At start, read what the controllers answered before (``vessel.command_acks``, the acks this
   module writes, known by their id) and the commands they answered: a resumed simulation
   re-applies each applied command at the tick it was applied (the ack's ``seq``).
2. Each tick, take the commands not answered yet, in order. For each, decide (expired, refused
   by the controller, or applied), write the answer and wait for the vessel cluster to
   acknowledge it, and only then act on the unit.

Answer first, act second: a crash between the two is replayed from the answer at the next
start, so a command is applied at most once per command id, and never without its answer.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from prometheus_client import Counter

from fleetedge.devices.controls import Outcome
from fleetedge.devices.exceptions import ProduceError
from fleetedge.devices.vessel import VesselSimulator
from fleetedge.events import JSON, Command, CommandAck, EventError, decode
from fleetedge.events import topics as t
from fleetedge.events.vessel import CommandStatus
from fleetedge.runtime.reading import read_to_end
from fleetedge.security.clients import kafka_config

_log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
ANSWERED = Counter(
    "fleetedge_reefer_commands_total", "commands the controllers answered", ["status"]
)
ACK_TIMEOUT_S = 120.0
E = TypeVar("E", Command, CommandAck)


def controller_ack_id(command_id: uuid.UUID) -> uuid.UUID:
    """The id of the controller's answer to a command: one per command."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:controller:{command_id}")


class Modem:
    """Commands for the vessel's reefer controllers (see the module docstring)."""

    def __init__(
        self,
        vessel: str,
        bootstrap: str,
        *,
        controls_topic: str = t.CONTROLS.name,
        acks_topic: str = t.COMMAND_ACKS.name,
    ) -> None:
        self.vessel = vessel
        self.bootstrap = bootstrap
        self.controls_topic = controls_topic
        self.acks_topic = acks_topic
        self.answered: dict[uuid.UUID, CommandAck] = {}
        self._consumer: Consumer | None = None
        self._producer = Producer(
            {
                **kafka_config(bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "logger": _kafka_log,
            }
        )

    def history(self) -> list[tuple[int, Command]]:
        """The commands applied before this start, with the tick each was applied at."""
        for value in read_to_end(self.bootstrap, self.acks_topic):
            ack = _decoded(value, CommandAck)
            if ack is not None and ack.event_id == controller_ack_id(ack.command_id):
                self.answered[ack.command_id] = ack
        applied: list[tuple[int, Command]] = []
        for value in read_to_end(self.bootstrap, self.controls_topic):
            command = _decoded(value, Command)
            ack = self.answered.get(command.command_id) if command else None
            if command is not None and ack is not None and ack.status is CommandStatus.SUCCEEDED:
                applied.append((ack.seq, command))
        return sorted(applied, key=lambda item: item[0])

    def start(self) -> Modem:
        consumer = Consumer(
            {
                **kafka_config(self.bootstrap),
                "group.id": f"controllers-{self.vessel}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "logger": _kafka_log,
            }
        )
        meta = consumer.list_topics(self.controls_topic, timeout=30).topics[self.controls_topic]
        consumer.assign(
            [TopicPartition(self.controls_topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        )
        self._consumer = consumer
        return self

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self._producer.flush(30)

    def __enter__(self) -> Modem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def waiting(self) -> list[Command]:
        """Commands that arrived and are not answered yet (without blocking)."""
        if self._consumer is None:
            return []
        out = []
        for msg in self._consumer.consume(100, 0):
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    _log.warning("controls consumer: %s", error)
                continue
            command = _decoded(msg.value() or b"", Command)
            if command is not None and command.command_id not in self.answered:
                out.append(command)
        return out

    def serve(self, sim: VesselSimulator) -> list[CommandAck]:
        """Answer every waiting command and apply the ones that apply, between two ticks."""
        acks = []
        for command in self.waiting():
            container = command.container_id or ""
            outcome = sim.verdict(container, command.action, command.params)
            ack = self.answer(command, outcome, sim.tick)
            if ack.status is CommandStatus.SUCCEEDED:
                sim.carry_out(container, command.action, command.params)
            acks.append(ack)
        return acks

    def answer(self, command: Command, outcome: Outcome, tick: int) -> CommandAck:
        """Write the controller's answer, applied at ``tick`` or not, and wait for the vessel
        cluster to take it (:class:`ProduceError` if it does not)."""
        now = datetime.now(UTC)
        if outcome.applied and now >= command.expires_at:
            outcome = Outcome(False, "expired before the controller got it: not applied")
            status = CommandStatus.EXPIRED
        else:
            status = CommandStatus.SUCCEEDED if outcome.applied else CommandStatus.REJECTED
        ack = CommandAck(
            event_id=controller_ack_id(command.command_id),
            vessel_id=self.vessel,
            event_time=now,
            seq=tick,
            command_id=command.command_id,
            status=status,
            container_id=command.container_id,
            reason=outcome.reason,
        )
        self._producer.produce(self.acks_topic, key=str(command.command_id), value=JSON.encode(ack))
        if self._producer.flush(ACK_TIMEOUT_S) != 0:
            raise ProduceError(
                f"the answer to command {command.command_id} was not acknowledged in "
                f"{ACK_TIMEOUT_S:.0f}s"
            )
        self.answered[command.command_id] = ack
        ANSWERED.labels(status.value).inc()
        return ack


def _decoded(value: bytes, kind: type[E]) -> E | None:
    try:
        event = decode(value)
    except EventError:
        return None
    return event if isinstance(event, kind) else None
