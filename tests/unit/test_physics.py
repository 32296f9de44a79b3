"""The reefer's physics: what a refrigeration engineer would check first."""

from __future__ import annotations

import itertools

from fleetedge.devices.physics import (
    ALARM_COMPRESSOR,
    DEFROST_DURATION_H,
    ReeferUnit,
)
from fleetedge.events.telemetry import Cargo, Compressor

MINUTE = 1 / 60


def _run(unit: ReeferUnit, hours: float, ambient: float) -> list[tuple[float, float, bool]]:
    """(time h, box °C, defrosting) every simulated minute."""
    trace = []
    for i in range(int(hours * 60)):
        unit.step(MINUTE, ambient)
        trace.append(((i + 1) * MINUTE, unit.box_c, unit.defrosting))
    return trace


def test_a_running_unit_holds_its_setpoint_within_half_a_degree() -> None:
    for cargo, setpoint in ((Cargo.FROZEN, -20.0), (Cargo.CHILLED, 2.0), (Cargo.BANANAS, 13.3)):
        unit = ReeferUnit.at_setpoint(cargo, setpoint)
        trace = _run(unit, 24, ambient=32.0)
        defrost_times = [t for t, _, d in trace if d]
        steady = [
            box
            for t, box, _ in trace
            if not any(0 <= t - d <= 0.75 for d in defrost_times)  # defrost and its recovery
        ]
        assert len(steady) > 0.8 * len(trace)
        assert max(abs(b - setpoint) for b in steady) < 0.5, cargo
        assert unit.compressor is Compressor.RUNNING or unit.defrosting


def test_a_frozen_box_without_power_warms_toward_ambient_at_a_plausible_rate() -> None:
    unit = ReeferUnit.at_setpoint(Cargo.FROZEN, -20.0, phase_h=1.0)
    unit.power_on = False
    trace = _run(unit, 48, ambient=30.0)
    first_hour_rise = trace[59][1] - (-20.0)
    # Loaded frozen cargo warms by roughly 0.5-1 °C per hour at first (TAU_LEAK_H = 50 h).
    assert 0.5 <= first_hour_rise <= 1.2
    boxes = [b for _, b, _ in trace]
    assert all(b2 > b1 for b1, b2 in itertools.pairwise(boxes))
    assert boxes[-1] < 30.0
    # Exponential approach: after 48 h, 1 - e^(-48/50) ≈ 62 % of the way to ambient.
    assert 0.55 < (boxes[-1] + 20.0) / 50.0 < 0.70
    assert unit.power_kw() == 0.0
    assert unit.alarm_codes()[0] == 1


def test_a_defrost_spike_stays_within_its_bounds_and_returns() -> None:
    unit = ReeferUnit.at_setpoint(Cargo.FROZEN, -20.0, phase_h=7.9)  # defrost due in 6 minutes
    trace = _run(unit, 2, ambient=30.0)
    during = [(t, b) for t, b, d in trace if d]
    assert during, "no defrost started"
    assert DEFROST_DURATION_H - 0.05 <= len(during) * MINUTE <= DEFROST_DURATION_H + 0.05
    peak = max(b for _, b in during)
    assert 0.6 <= peak - (-20.0) <= 1.5  # about +1 °C: a spike, not an excursion
    end = during[-1][0]
    after = [b for t, b, _ in trace if end + 0.5 <= t]
    assert after
    assert max(abs(b + 20.0) for b in after) < 0.2


def test_a_failed_compressor_drifts_away_from_the_setpoint() -> None:
    unit = ReeferUnit.at_setpoint(Cargo.CHILLED, 2.0)
    unit.health = 0.0
    trace = _run(unit, 6, ambient=30.0)
    assert trace[-1][1] > 2.0 + 3.0
    assert unit.compressor is Compressor.FAILED
    assert ALARM_COMPRESSOR in unit.alarm_codes()


def test_a_worn_compressor_settles_above_the_setpoint_at_full_effort() -> None:
    unit = ReeferUnit.at_setpoint(Cargo.FROZEN, -25.0, phase_h=0.0)
    unit.health = 0.08  # 0.64 °C/h of cooling against a 1.1 °C/h leak at setpoint
    trace = _run(unit, 7, ambient=30.0)
    assert trace[-1][1] > -25.0 + 2.5
    assert trace[-1][1] > trace[-61][1]  # still losing ground
    assert unit.power_kw() > 5.0  # working flat out
