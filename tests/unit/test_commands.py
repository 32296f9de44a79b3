"""Remote commands without Kafka: the shore's refusals, the lifecycle, the reefer controller,
the simulator's replay of applied commands, and the edge's pull-down rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from fleetedge.commands import CommandRefused, CommandRequest, RateLimiter, Step, Target, check
from fleetedge.commands.lifecycle import current, step_of
from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.devices.controls import apply, verdict
from fleetedge.devices.physics import ReeferUnit, Sensor
from fleetedge.edge.commands import answer
from fleetedge.edge.rules import AlertEngine, RuleConfig
from fleetedge.edge.store import DictStore
from fleetedge.events import AlertKind, AlertState, Command
from fleetedge.events.telemetry import Cargo
from fleetedge.events.vessel import CommandAction, CommandStatus

T0 = datetime(2026, 11, 1, tzinfo=UTC)
FROZEN = Target("FEXU0000001", "vessel-1", Cargo.FROZEN)


def request(**changes: object) -> CommandRequest:
    fields: dict[str, object] = {
        "vessel_id": "vessel-1",
        "container_id": "FEXU0000001",
        "action": CommandAction.SET_SETPOINT,
        "setpoint_c": -18.0,
        "ttl": timedelta(hours=6),
        "issued_by": "operator",
    }
    fields.update(changes)
    return CommandRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "target", "field", "says"),
    [
        ({"setpoint_c": 45.0}, FROZEN, "setpoint_c", "unit's range"),
        ({"setpoint_c": 2.0}, FROZEN, "setpoint_c", "frozen cargo allows"),
        ({"setpoint_c": None}, FROZEN, "setpoint_c", "needs a setpoint_c"),
        ({"action": CommandAction.DEFROST}, FROZEN, "setpoint_c", "takes no setpoint"),
        ({"action": CommandAction.RESEND, "setpoint_c": None}, FROZEN, "action", "remotely"),
        ({}, None, "container_id", "no container"),
        ({"vessel_id": "vessel-2"}, FROZEN, "container_id", "aboard vessel-1, not vessel-2"),
        ({"ttl": timedelta(days=30)}, FROZEN, "ttl", "expiry"),
        ({"ttl": timedelta(0)}, FROZEN, "ttl", "expiry"),
    ],
)
def test_each_unsafe_command_is_refused_naming_its_field(
    changes: dict[str, object], target: Target | None, field: str, says: str
) -> None:
    with pytest.raises(CommandRefused, match=says) as refused:
        check(request(**changes), target)
    assert refused.value.field == field


def test_a_safe_command_passes_with_its_params() -> None:
    assert check(request(setpoint_c=-22.456), FROZEN) == {"setpoint_c": -22.46}
    assert check(request(action=CommandAction.DEFROST, setpoint_c=None), FROZEN) == {}


def test_the_rate_limit_refuses_a_flood_for_one_container_only() -> None:
    limiter = RateLimiter(limit=3, period=600)
    for _ in range(3):
        limiter.take("A")
    with pytest.raises(CommandRefused, match="3 commands") as refused:
        limiter.take("A")
    assert refused.value.limited
    limiter.take("B")
    limiter.give_back("A")
    limiter.take("A")


def test_the_lifecycle_shows_the_highest_step_and_expiry_before_delivery() -> None:
    expires = T0 + timedelta(hours=1)
    requested = {Step.REQUESTED: T0}
    assert current(requested, expires, T0 + timedelta(minutes=5)) is Step.REQUESTED
    assert current(requested, expires, expires) is Step.EXPIRED
    delivered = {**requested, Step.DELIVERED: T0 + timedelta(minutes=1)}
    assert current(delivered, expires, expires + timedelta(hours=1)) is Step.DELIVERED
    applied = {**delivered, Step.APPLIED: T0 + timedelta(minutes=2)}
    assert current(applied, expires, T0) is Step.APPLIED
    assert step_of(CommandStatus.ACCEPTED) is Step.DELIVERED
    assert step_of(CommandStatus.FAILED) is Step.REJECTED
    assert step_of(CommandStatus.QUEUED) is None


def command(expires: datetime, **changes: object) -> Command:
    fields: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "vessel_id": "vessel-1",
        "event_time": T0,
        "seq": 1,
        "command_id": uuid.uuid4(),
        "action": CommandAction.DEFROST,
        "container_id": "FEXU0000001",
        "issued_by": "operator",
        "expires_at": expires,
    }
    fields.update(changes)
    return Command(**fields)


def test_the_vessel_refuses_a_late_or_misaddressed_command() -> None:
    late = command(T0 + timedelta(minutes=5))
    assert answer("vessel-1", late, T0)[0] is CommandStatus.ACCEPTED
    status, reason = answer("vessel-1", late, T0 + timedelta(minutes=6))
    assert status is CommandStatus.EXPIRED
    assert "not applied" in reason
    assert answer("vessel-2", late, T0)[0] is CommandStatus.REJECTED
    assert answer("vessel-1", command(T0 + timedelta(hours=1), container_id=None), T0)[0] is (
        CommandStatus.REJECTED
    )


def test_the_controller_carries_out_or_refuses_with_a_reason() -> None:
    unit = ReeferUnit.at_setpoint(Cargo.FROZEN, -20.0)
    out = verdict(unit, CommandAction.SET_SETPOINT, {"setpoint_c": -25.0})
    assert out.applied
    assert "-20 → -25" in out.reason
    apply(unit, CommandAction.SET_SETPOINT, {"setpoint_c": -25.0})
    assert unit.setpoint_c == -25.0
    assert not verdict(unit, CommandAction.SET_SETPOINT, {"setpoint_c": -40.0}).applied
    assert verdict(unit, CommandAction.DEFROST, {}).applied
    apply(unit, CommandAction.DEFROST, {})
    assert unit.defrosting
    assert "already running" in verdict(unit, CommandAction.DEFROST, {}).reason
    assert verdict(unit, CommandAction.PRE_TRIP_INSPECTION, {}).reason.startswith("PTI passed")
    unit.health = 0.5
    unit.supply_sensor = Sensor(stuck_at=-20.0)
    pti = verdict(unit, CommandAction.PRE_TRIP_INSPECTION, {}).reason
    assert pti.startswith("PTI failed"), pti
    assert "compressor at 50%" in pti
    assert "stuck" in pti
    unit.power_on = False
    assert "no power" in verdict(unit, CommandAction.DEFROST, {}).reason


def sim() -> VesselSimulator:
    return VesselSimulator("vessel-1", 20, seed=3, start=T0, rates=FaultRates.none())


def test_a_resumed_simulation_replays_a_command_at_its_tick_and_reads_the_same() -> None:
    live = sim()
    frozen = next(e for e in live.entries if e.cargo is Cargo.FROZEN)
    params: dict[str, float | int | str] = {"setpoint_c": -25.0}
    for _ in range(30):
        live.next_readings()
    assert live.verdict(frozen.container_id, CommandAction.SET_SETPOINT, params).applied
    live.carry_out(frozen.container_id, CommandAction.SET_SETPOINT, params)
    after = [live.next_readings() for _ in range(120)]

    resumed = sim()
    resumed.replay(30, frozen.container_id, CommandAction.SET_SETPOINT, params)
    for _ in range(30):
        resumed.next_readings()
    assert [resumed.next_readings() for _ in range(120)] == after
    last = next(r for r in after[-1] if r.container_id == frozen.container_id)
    assert last.setpoint_c == -25.0
    assert abs(last.return_air_c - -25.0) < 1.0, "the box pulled down to the new setpoint"


def excursions(limit: timedelta, health: float = 1.0) -> int:
    """Excursion alerts raised for a frozen box ordered from -18 to -25 °C (away from its
    defrosts, whose allowance would hide the pull-down)."""
    vessel = VesselSimulator("vessel-1", 40, seed=5, start=T0, rates=FaultRates.none())
    box = next(e for e in vessel.entries if e.cargo is Cargo.FROZEN and e.setpoint_c == -18.0)
    engine, store = AlertEngine("vessel-1", RuleConfig(pulldown_limit=limit)), DictStore()
    raised = 0
    for minute in range(9 * 60):
        if minute == 200:
            vessel.units[vessel.container_ids.index(box.container_id)].health = health
            vessel.carry_out(box.container_id, CommandAction.SET_SETPOINT, {"setpoint_c": -25.0})
        for reading in vessel.next_readings():
            if reading.container_id == box.container_id:
                raised += sum(
                    a.alert_kind is AlertKind.TEMPERATURE_EXCURSION and a.state is AlertState.RAISED
                    for a in engine.process(reading, store)
                )
    return raised


def test_a_pull_down_to_a_new_setpoint_raises_no_excursion_but_one_that_stalls_does() -> None:
    assert excursions(timedelta(0)) == 1, "without the rule, the pull-down is an excursion"
    assert excursions(RuleConfig().pulldown_limit) == 0
    # A compressor at a tenth of its capacity never gets there: past the limit, it is one.
    assert excursions(timedelta(hours=2), health=0.1) == 1
