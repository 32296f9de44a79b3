"""Window aggregation: right numbers, whatever the order, duplicates or gaps."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetedge.devices import FaultRates, VesselSimulator, parse_script
from fleetedge.devices.cargo import PROFILES
from fleetedge.edge.windows import WindowConfig, add, finish, start
from fleetedge.events import ContainerWindow, ReeferReading

CONFIG = WindowConfig(size=timedelta(minutes=15), reading_interval=timedelta(minutes=1))
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _one_container(minutes: int, script: str = "") -> list[ReeferReading]:
    sim = VesselSimulator(
        "vessel-1", 3, seed=11, start=T0, rates=FaultRates.none(), script=parse_script(script)
    )
    return [sim.next_readings()[0] for _ in range(minutes)]


def _aggregate(readings: list[ReeferReading]) -> ContainerWindow:
    state = start(readings[0], CONFIG)
    for reading in readings[1:]:
        state = add(state, reading, CONFIG)
    window_start, _ = CONFIG.bounds(readings[0].event_time)
    return finish(
        state,
        vessel_id="vessel-1",
        container_id=readings[0].container_id,
        window_start=window_start,
        config=CONFIG,
    )


def _in_first_window(readings: list[ReeferReading]) -> list[ReeferReading]:
    first, end = CONFIG.bounds(readings[0].event_time)
    return [r for r in readings if first <= r.event_time < end]


def test_bounds_align_to_the_size_and_seq_counts_periods() -> None:
    start_, end = CONFIG.bounds(datetime(2026, 11, 1, 10, 7, 30, tzinfo=UTC))
    assert (start_, end) == (
        datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 10, 15, tzinfo=UTC),
    )
    assert CONFIG.window_seq(end) == CONFIG.window_seq(start_) + 1
    with pytest.raises(ValueError, match="1 to 60 minutes"):
        WindowConfig(size=timedelta(hours=2))


def test_a_window_holds_what_a_brute_force_count_says() -> None:
    readings = _in_first_window(_one_container(20, "3m container FUYU0000001 door-open 4m"))
    readings = [r for r in readings if r.container_id == readings[0].container_id]
    window = _aggregate(readings)
    assert window.count == len(readings) == 14  # minutes 1..14 of the first 15-minute window
    assert (window.first_seq, window.last_seq, window.gaps) == (1, 14, ())
    assert window.supply_min_c == min(r.supply_air_c for r in readings)
    assert window.return_max_c == max(r.return_air_c for r in readings)
    assert window.return_mean_c == pytest.approx(
        statistics.fmean(r.return_air_c for r in readings), abs=0.01
    )
    assert window.mean_power_kw == pytest.approx(
        statistics.fmean(r.power_kw for r in readings), abs=0.01
    )
    assert window.seconds_door_open == 60 * sum(r.door_open for r in readings)
    assert window.seconds_door_open > 0
    assert (window.lat, window.lon) == (readings[-1].lat, readings[-1].lon)
    assert window.window_end - window.window_start == CONFIG.size


def test_defrost_is_not_time_out_of_range_but_a_real_excursion_is() -> None:
    readings = _one_container(15 * 40)  # ten hours: each container defrosts at least once
    windows = [
        _aggregate([r for r in readings if CONFIG.bounds(r.event_time)[0] == w])
        for w in sorted({CONFIG.bounds(r.event_time)[0] for r in readings})
    ]
    assert sum(w.seconds_defrost for w in windows) > 0
    assert sum(w.seconds_out_of_range for w in windows) == 0

    # A chilled box without power warms about 0.5 °C/h: three hours on, it is out of range.
    powerless = _one_container(195, "0m container FUYU0000001 power-loss 4h")
    hot = [r for r in powerless if CONFIG.bounds(r.event_time)[0] == T0 + timedelta(hours=3)]
    cargo = hot[0].cargo
    expected = 60 * sum(
        abs(r.return_air_c - r.setpoint_c) > PROFILES[cargo].tolerance_c for r in hot
    )
    assert expected > 0  # the power loss did take the box out of range
    window = _aggregate(hot)
    assert window.seconds_power_off == 60 * len(hot)
    assert window.seconds_out_of_range == expected


def test_duplicates_never_count_twice_and_gaps_are_listed() -> None:
    readings = _in_first_window(_one_container(15))
    kept = [r for r in readings if r.seq not in (5, 7, 8)]
    window = _aggregate([*kept, kept[3], kept[0], kept[-1]])
    assert window == _aggregate(kept)
    assert window.count == len(kept)
    assert window.gaps == ((5, 5), (7, 8))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_order_does_not_matter(seed: int) -> None:
    readings = _in_first_window(_one_container(15))
    shuffled = readings[:]
    random.Random(seed).shuffle(shuffled)
    assert _aggregate(shuffled) == _aggregate(readings)
