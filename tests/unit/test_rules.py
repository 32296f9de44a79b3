"""Alert rules over simulated readings: the right alerts, each once, at the right times."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from fleetedge.devices import FaultRates, VesselSimulator, parse_script
from fleetedge.edge.rules import AlertEngine, RuleConfig
from fleetedge.edge.store import DictStore
from fleetedge.events import Alert, AlertKind, AlertState, ReeferReading

T0 = datetime(2026, 11, 1, tzinfo=UTC)
VESSEL = "vessel-1"


def minute(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def simulate(
    minutes: int, script: str = "", containers: int = 120, drop: set[tuple[str, int]] | None = None
) -> tuple[VesselSimulator, list[Alert], list[ReeferReading]]:
    sim = VesselSimulator(VESSEL, containers, seed=4, start=T0, rates=FaultRates.none())
    first, second = sim.container_ids[:2]
    sim.script = parse_script(script.replace("{0}", first).replace("{1}", second))
    engine, store = AlertEngine(VESSEL, RuleConfig()), DictStore()
    alerts: list[Alert] = []
    seen: list[ReeferReading] = []
    for _ in range(minutes):
        for reading in sim.next_readings():
            if drop and (reading.container_id, reading.seq) in drop:
                continue
            seen.append(reading)
            alerts.extend(engine.process(reading, store))
    return sim, alerts, seen


Row = tuple[str, str, str | int | None, datetime, datetime | None]


def summary(alerts: list[Alert]) -> list[Row]:
    return [
        (a.alert_kind.value, a.state.value, a.container_id or a.bay, a.raised_at, a.cleared_at)
        for a in alerts
    ]


def test_the_scripted_scenario_yields_exactly_the_expected_alerts() -> None:
    script = "\n".join(
        [
            "20m bay 3 power-loss 30m",
            "60m container {0} door-open 5m",
            "120m container {1} compressor-failure",
        ]
    )
    sim, alerts, readings = simulate(240, script)
    first, second = sim.container_ids[:2]
    assert any(r.defrost for r in readings), "the run should include defrost cycles"
    assert summary(alerts) == [
        ("bay_power_incident", "raised", 3, minute(20), None),
        ("bay_power_incident", "cleared", 3, minute(20), minute(50)),
        ("door_open", "raised", first, minute(60), None),
        ("door_open", "cleared", first, minute(60), minute(65)),
        ("compressor_failure", "raised", second, minute(120), None),
    ]
    assert [a.seq for a in alerts] == [1, 2, 3, 4, 5]
    assert alerts[0].alert_id == alerts[1].alert_id
    assert alerts[0].evidence["containers"] == 40
    # Raised only once the correlation window passed; stamped with when it began.
    assert alerts[0].event_time == minute(20)


def test_defrost_cycles_alone_raise_nothing() -> None:
    _, alerts, readings = simulate(12 * 60, containers=60)  # every container defrosts at least once
    defrosting = {r.container_id for r in readings if r.defrost}
    assert len(defrosting) == 60
    assert alerts == []


def test_one_container_losing_power_is_a_power_loss_not_an_incident() -> None:
    _, alerts, _ = simulate(40, "10m container {0} power-loss 15m")
    assert [(a.alert_kind, a.state) for a in alerts] == [
        (AlertKind.POWER_LOSS, AlertState.RAISED),
        (AlertKind.POWER_LOSS, AlertState.CLEARED),
    ]
    assert (alerts[1].raised_at, alerts[1].cleared_at) == (minute(10), minute(25))


def test_a_vessel_blackout_is_one_incident() -> None:
    _, alerts, _ = simulate(60, "10m vessel power-loss 20m")
    assert summary(alerts) == [
        ("vessel_power_incident", "raised", None, minute(10), None),
        ("vessel_power_incident", "cleared", None, minute(10), minute(30)),
    ]


def test_a_failed_compressor_leads_to_one_excursion_after_the_dwell() -> None:
    _, alerts, _ = simulate(8 * 60, "10m container {0} compressor-failure")
    kinds = Counter((a.alert_kind, a.state) for a in alerts)
    assert kinds == {
        (AlertKind.COMPRESSOR_FAILURE, AlertState.RAISED): 1,
        (AlertKind.TEMPERATURE_EXCURSION, AlertState.RAISED): 1,
    }
    excursion = next(a for a in alerts if a.alert_kind is AlertKind.TEMPERATURE_EXCURSION)
    assert excursion.raised_at > minute(10) + timedelta(minutes=30)


def test_stuck_sensor_and_wrong_setpoint_are_raised() -> None:
    sim, alerts, _ = simulate(
        60, "5m container {0} sensor-stuck\n5m container {1} setpoint 30", containers=10
    )
    first, second = sim.container_ids[:2]
    raised = [
        (a.alert_kind, a.container_id, a.raised_at) for a in alerts if a.state is AlertState.RAISED
    ]
    # The probe repeats one value from minute 5; the 15th identical reading is minute 19.
    assert (AlertKind.SENSOR_FAULT, first, minute(19)) in raised
    assert (AlertKind.SETPOINT_MISMATCH, second, minute(5)) in raised
    assert {container for _, container, _ in raised} == {first, second}


def test_a_silent_container_is_raised_once_and_cleared_when_it_speaks() -> None:
    sim = VesselSimulator(VESSEL, 5, seed=4, start=T0, rates=FaultRates.none())
    quiet = sim.container_ids[2]
    drop = {(quiet, seq) for seq in range(11, 31)}  # says nothing from minute 11 to 30
    _, alerts, _ = simulate(40, containers=5, drop=drop)
    assert summary(alerts) == [
        ("silent", "raised", quiet, minute(15), None),
        ("silent", "cleared", quiet, minute(15), minute(31)),
    ]


def test_a_replay_gives_the_same_alerts_ids_included_and_duplicates_change_nothing() -> None:
    script = "20m bay 3 power-loss 30m\n60m container {0} door-open 5m"
    _, first_run, readings = simulate(90, script)
    engine, store = AlertEngine(VESSEL), DictStore()
    replayed = [a for r in readings for a in engine.process(r, store)]
    assert replayed == first_run
    engine, store = AlertEngine(VESSEL), DictStore()
    doubled = [a for r in readings for _ in range(2) for a in engine.process(r, store)]
    assert doubled == first_run
