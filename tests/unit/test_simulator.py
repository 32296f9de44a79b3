"""The vessel simulator: repeatable, realistic enough, scriptable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleetedge.devices import FaultKind, FaultRates, VesselSimulator, Voyage, parse_script
from fleetedge.devices.cargo import PROFILES
from fleetedge.devices.exceptions import ScriptError
from fleetedge.devices.live import LiveFaults, append
from fleetedge.devices.route import PORTS, ambient_c, distance_nm
from fleetedge.events import JSON

START = datetime(2026, 11, 1, tzinfo=UTC)


def _stream_hash(seed: int, ticks: int = 120) -> str:
    sim = VesselSimulator("vessel-1", 50, seed=seed, start=START)
    digest = hashlib.sha256()
    for _ in range(ticks):
        for reading in sim.next_readings():
            digest.update(JSON.encode(reading))
    return digest.hexdigest()


def test_the_same_seed_gives_an_identical_event_stream() -> None:
    assert _stream_hash(7) == _stream_hash(7)
    assert _stream_hash(7) != _stream_hash(8)


def test_readings_carry_contiguous_sequence_numbers_and_the_simulated_time() -> None:
    sim = VesselSimulator("vessel-2", 10, seed=1, start=START, interval=timedelta(seconds=30))
    for tick in range(1, 4):
        readings = sim.next_readings()
        assert [r.seq for r in readings] == [tick] * 10
        assert {r.event_time for r in readings} == {START + tick * timedelta(seconds=30)}
    assert len(set(sim.container_ids)) == 10
    assert all(r.container_id.startswith(sim.container_ids[0][:4]) for r in readings)


def test_cargo_setpoints_follow_their_profiles() -> None:
    sim = VesselSimulator("vessel-1", 400, seed=3, start=START, rates=FaultRates.none())
    readings = sim.next_readings()
    assert {r.cargo for r in readings} == set(PROFILES)
    for reading in readings:
        assert PROFILES[reading.cargo].setpoint_ok(reading.setpoint_c)
        assert abs(reading.return_air_c - reading.setpoint_c) < 1.5


def test_wrong_setpoints_are_planted_at_the_configured_rate() -> None:
    rates = FaultRates(0, 0, 0, 0, 0, 0, 0, wrong_setpoint_fraction=0.05)
    sim = VesselSimulator("vessel-1", 2000, seed=3, start=START, rates=rates)
    wrong = [r for r in sim.next_readings() if not PROFILES[r.cargo].setpoint_ok(r.setpoint_c)]
    assert 50 <= len(wrong) <= 150


def test_a_scripted_bay_power_loss_hits_that_bay_only_and_ends() -> None:
    script = parse_script("# a bay loses power\n10m bay 3 power-loss 30m\n")
    sim = VesselSimulator(
        "vessel-1", 120, seed=5, start=START, rates=FaultRates.none(), script=script
    )
    by_minute = {}
    for _ in range(60):
        readings = sim.next_readings()
        by_minute[sim.tick] = {r.container_id for r in readings if not r.power_on}
    bay3 = {r.container_id for r in readings if r.bay == 3}
    assert by_minute[9] == set()
    assert by_minute[10] == bay3
    assert by_minute[39] == bay3
    assert by_minute[40] == set()


def test_scripted_container_faults() -> None:
    sim = VesselSimulator("vessel-1", 5, seed=5, start=START, rates=FaultRates.none())
    first, second = sim.container_ids[:2]
    sim.script = parse_script(
        f"1m container {first} compressor-failure\n2m container {second} door-open 5m\n"
    )
    for _ in range(3):
        readings = {r.container_id: r for r in sim.next_readings()}
    assert readings[first].compressor == "failed"
    assert 20 in readings[first].alarm_codes
    assert readings[second].door_open


def test_a_live_fault_takes_effect_when_read_once_and_survives_a_restart(tmp_path: Path) -> None:
    """`fleet chaos fault` appends lines; the simulator reads them at its ticks, counting their
    time from then, and keeps its place in the file across a restart."""
    path = tmp_path / "vessel-1.live"
    script = parse_script("30m bay 5 power-loss 10m\n")
    sim = VesselSimulator("vessel-1", 120, seed=5, start=START, rates=FaultRates.none(),
                          script=script)  # fmt: skip
    live = LiveFaults(path)
    assert live.poll() == []  # no file yet: nothing
    for _ in range(20):
        sim.next_readings()
    append(path, "0m bay 3 power-loss 5m")
    with path.open("a") as f:
        f.write("0m bay 3 meltdown\n0m bay 1")  # a bad line, and one half written
    faults = live.poll()
    assert [(f.kind, f.target.bay) for f in faults] == [(FaultKind.POWER_LOSS, 3)]
    for fault in faults:
        sim.schedule(fault)
    dark = {}
    for _ in range(40):
        readings = sim.next_readings()
        dark[sim.tick] = {r.bay for r in readings if not r.power_on}
    assert (dark[21], dark[25], dark[26]) == ({3}, {3}, set())
    assert dark[30] == {5}, "the script's own faults still come at their time"
    restarted = LiveFaults(path)
    with path.open("a") as f:
        f.write(" power-loss 5m\n")  # the half line completed while the simulator was down
    faults = restarted.poll()
    assert [f.target.bay for f in faults] == [1], "each line once, none lost over a restart"
    with pytest.raises(ScriptError, match="unknown container"):
        sim.schedule(parse_script("0m container NOPE0000000 door-open 5m")[0])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("soon bay 3 power-loss", "not a duration"),
        ("1h deck 3 power-loss", "target must be"),
        ("1h bay 3 meltdown", "unknown fault"),
        ("1h bay 3 door-open 5m", "happens to one container"),
        ("1h container X setpoint", "needs a value"),
    ],
)
def test_bad_fault_scripts_are_refused_clearly(line: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_script(line)


def test_voyages_sail_between_real_ports_and_ambient_follows_latitude() -> None:
    voyage = Voyage("banana-express")
    lat0, lon0 = voyage.position(0)
    assert distance_nm((lat0, lon0), PORTS["Guayaquil"]) < 1
    half = voyage.length_nm / voyage.speed_kn
    assert distance_nm(voyage.position(half), PORTS["Rotterdam"]) < 1
    # 10 hours at 18 knots is 180 nautical miles.
    assert distance_nm(voyage.position(10), voyage.position(0)) == pytest.approx(180, rel=0.02)
    noon = datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert ambient_c(0.0, 0.0, noon) > ambient_c(52.0, 0.0, noon) + 10
    assert FaultKind("power-loss") is FaultKind.POWER_LOSS
