"""The vessel's side of remote commands on a real cluster: the command handler and the reefer
controllers' modem, with the downlink's repeats, late and misaddressed commands, and restarts.

Each case is read back as a user would check it: the acknowledgements and the commands passed
to the controllers, from the topics; the setpoint, from the simulated unit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.devices.modem import Modem
from fleetedge.edge.commands import CommandHandler
from fleetedge.events import JSON, Command, CommandAck, decode
from fleetedge.events.telemetry import Cargo
from fleetedge.events.vessel import CommandAction, CommandStatus
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.reading import read_to_end
from fleetedge.runtime.waiting import wait_until

pytestmark = pytest.mark.kafka
VESSEL = "vessel-c"


def order(sim: VesselSimulator, action: CommandAction, ttl: timedelta, **params: float) -> Command:
    box = next(e for e in sim.entries if e.cargo is Cargo.FROZEN)
    now = datetime.now(UTC)
    return Command(
        event_id=uuid.uuid4(), vessel_id=VESSEL, event_time=now, seq=1,
        command_id=uuid.uuid4(), action=action, container_id=box.container_id, params=params,
        issued_by="ops", expires_at=now + ttl,
    )  # fmt: skip


def test_repeats_late_and_misaddressed_commands_are_each_answered_once(
    cluster: KafkaCluster, topic_name: str
) -> None:
    boot = cluster.bootstrap_servers
    topics = {k: f"{topic_name}.{k}" for k in ("commands", "acks", "controls")}
    for name in topics.values():
        create_topic(boot, name, partitions=1, replication_factor=3)
    sim = VesselSimulator(VESSEL, 20, seed=2, start=datetime.now(UTC), rates=FaultRates.none())
    setpoint = order(sim, CommandAction.SET_SETPOINT, timedelta(hours=1), setpoint_c=-24.0)
    late = order(sim, CommandAction.DEFROST, timedelta(seconds=-1))
    elsewhere = order(sim, CommandAction.DEFROST, timedelta(hours=1)).model_copy(
        update={"vessel_id": "vessel-z"}
    )
    producer = Producer({"bootstrap.servers": boot, "acks": "all"})
    # The downlink repeats the setpoint order, as MirrorMaker 2 may after a restart.
    for command in (setpoint, setpoint, late, elsewhere, setpoint):
        producer.produce(topics["commands"], key=VESSEL, value=JSON.encode(command))
    assert producer.flush(30) == 0

    def handle() -> None:
        handler = CommandHandler(
            VESSEL, boot, commands_topic=topics["commands"], acks_topic=topics["acks"],
            controls_topic=topics["controls"],
        )  # fmt: skip
        with handler:
            handler.run(idle_timeout=5)

    handle()
    # A handler started again (a new instance, fencing the old) reads the repeats again.
    producer.produce(topics["commands"], key=VESSEL, value=JSON.encode(setpoint))
    assert producer.flush(30) == 0
    handle()

    acks = [a for a in map(decode, read_to_end(boot, topics["acks"])) if isinstance(a, CommandAck)]
    assert Counter((a.command_id, a.status) for a in acks) == {
        (setpoint.command_id, CommandStatus.ACCEPTED): 1,
        (late.command_id, CommandStatus.EXPIRED): 1,
        (elsewhere.command_id, CommandStatus.REJECTED): 1,
    }
    passed_on = [decode(v) for v in read_to_end(boot, topics["controls"])]
    assert [getattr(c, "command_id", None) for c in passed_on] == [setpoint.command_id]

    # The controllers: answer, then act; a modem started again applies nothing twice and
    # hands the simulation what was applied, at its tick.
    box = setpoint.container_id or ""
    index = sim.container_ids.index(box)
    for _ in range(5):
        sim.next_readings()
    with Modem(VESSEL, boot, controls_topic=topics["controls"], acks_topic=topics["acks"]) as modem:
        assert modem.history() == []
        [answer] = wait_until(lambda: modem.serve(sim), timeout=60, what="the controller's answer")
    assert answer.status is CommandStatus.SUCCEEDED
    assert answer.seq == 5
    assert sim.units[index].setpoint_c == -24.0
    again = Modem(VESSEL, boot, controls_topic=topics["controls"], acks_topic=topics["acks"])
    with again:
        history = again.history()
        assert [(tick, c.command_id) for tick, c in history] == [(5, setpoint.command_id)]
        for _ in range(10):
            assert again.serve(sim) == []
    # A simulator restarted from scratch with that history reads exactly as the live one.
    resumed = VesselSimulator(VESSEL, 20, seed=2, start=sim.start, rates=FaultRates.none())
    for tick, command in history:
        resumed.replay(tick, box, command.action, command.params)
    for _ in range(5):
        resumed.next_readings()
    assert [resumed.next_readings() for _ in range(30)] == [sim.next_readings() for _ in range(30)]
