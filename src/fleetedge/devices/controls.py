"""What a reefer's controller does with a remote command: carry it out on the unit, or refuse.

Pure functions of the unit's state, so the simulator's resume can re-apply, at the same tick,
what the controller did before a crash:

- ``set_setpoint``: within the unit's range, the new setpoint takes effect at once; the box
  then pulls down (or drifts up) to it under the physics of ``physics.py``;
- ``defrost``: a powered unit not already defrosting starts a defrost cycle now;
- ``pre_trip_inspection``: checks power, compressor health, door and supply probe, and reports
  pass or fail with what it found (the unit keeps running: no cargo is at risk).
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetedge.devices.physics import DEFROST_DURATION_H, ReeferUnit
from fleetedge.events.vessel import CommandAction

UNIT_SETPOINT_RANGE = (-30.0, 30.0)
PTI_MIN_HEALTH = 0.8
PTI_MAX_PROBE_BIAS_C = 0.5


@dataclass(frozen=True)
class Outcome:
    """``applied`` True: the controller carried the command out (``reason`` says what)."""

    applied: bool
    reason: str


def verdict(
    unit: ReeferUnit, action: CommandAction, params: dict[str, float | int | str]
) -> Outcome:
    """What the controller would do with the command, without doing it."""
    if action is CommandAction.SET_SETPOINT:
        return _setpoint(unit, params)
    if action is CommandAction.DEFROST:
        return _defrost(unit)
    if action is CommandAction.PRE_TRIP_INSPECTION:
        return Outcome(True, _inspection(unit))
    return Outcome(False, f"the controller does not carry out {action.value}")


def _setpoint(unit: ReeferUnit, params: dict[str, float | int | str]) -> Outcome:
    try:
        value = float(params["setpoint_c"])
    except (KeyError, TypeError, ValueError):
        return Outcome(False, "set_setpoint needs a numeric setpoint_c")
    low, high = UNIT_SETPOINT_RANGE
    if not low <= value <= high:
        return Outcome(False, f"setpoint {value} °C is outside the unit's {low}..{high} °C")
    return Outcome(True, f"setpoint {unit.setpoint_c:g} → {value:g} °C")


def _defrost(unit: ReeferUnit) -> Outcome:
    if not unit.power_on:
        return Outcome(False, "no power: a defrost needs the unit running")
    if unit.defrosting:
        return Outcome(False, "a defrost is already running")
    return Outcome(True, f"defrost started ({DEFROST_DURATION_H * 60:.0f} min)")


def apply(unit: ReeferUnit, action: CommandAction, params: dict[str, float | int | str]) -> None:
    """Carry out a command :func:`verdict` said applies."""
    if action is CommandAction.SET_SETPOINT:
        unit.setpoint_c = float(params["setpoint_c"])
    elif action is CommandAction.DEFROST:
        unit.defrost_left_h = DEFROST_DURATION_H
        unit.since_defrost_h = 0.0


def _inspection(unit: ReeferUnit) -> str:
    faults = []
    if not unit.power_on:
        faults.append("no power")
    if unit.health < PTI_MIN_HEALTH:
        faults.append(f"compressor at {unit.health:.0%} of capacity")
    if unit.door_open:
        faults.append("door open")
    probe = unit.supply_sensor
    if probe.stuck_at is not None:
        faults.append(f"supply probe stuck at {probe.stuck_at:g} °C")
    elif abs(probe.bias_c) > PTI_MAX_PROBE_BIAS_C:
        faults.append(f"supply probe off by {probe.bias_c:+.1f} °C")
    if faults:
        return "PTI failed: " + ", ".join(faults)
    return f"PTI passed: power, compressor ({unit.health:.0%}), door and probes in order"
