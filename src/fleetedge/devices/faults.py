"""Faults: random at configured rates, or scripted ("at 2h bay 12 power-loss 30m")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from fleetedge.devices.exceptions import ScriptError


class FaultKind(StrEnum):
    POWER_LOSS = "power-loss"
    DOOR_OPEN = "door-open"
    COMPRESSOR_DEGRADATION = "compressor-degradation"
    COMPRESSOR_FAILURE = "compressor-failure"
    SENSOR_DRIFT = "sensor-drift"
    SENSOR_STUCK = "sensor-stuck"
    SETPOINT = "setpoint"
    DEFROST = "defrost"
    PROBE_SILENT = "probe-silent"


@dataclass(frozen=True)
class FaultRates:
    """Random faults, in events per container (or bay, or vessel) per simulated day."""

    power_loss: float = 0.02
    door_open: float = 0.02
    compressor_degradation: float = 0.002
    sensor_drift: float = 0.002
    sensor_stuck: float = 0.002
    bay_power_loss: float = 0.01
    vessel_power_loss: float = 0.002
    wrong_setpoint_fraction: float = 0.005

    @classmethod
    def none(cls) -> FaultRates:
        return cls(0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Target:
    """What a fault hits: a container, a bay, or (both None) the whole vessel."""

    container_id: str | None = None
    bay: int | None = None

    def __str__(self) -> str:
        if self.container_id:
            return f"container {self.container_id}"
        return f"bay {self.bay}" if self.bay is not None else "vessel"


@dataclass(frozen=True)
class ScriptedFault:
    at: timedelta
    target: Target
    kind: FaultKind
    duration: timedelta | None = None
    value: float | None = None


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise ScriptError(f"{text!r} is not a duration like 90s, 30m, 2h or 1.5d")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


_TIMED = (
    FaultKind.POWER_LOSS, FaultKind.DOOR_OPEN, FaultKind.COMPRESSOR_FAILURE,
    FaultKind.PROBE_SILENT,
)  # fmt: skip
_VALUED = (FaultKind.SETPOINT, FaultKind.SENSOR_DRIFT, FaultKind.COMPRESSOR_DEGRADATION)


def _argument(line: str, kind: FaultKind, arg: str | None) -> tuple[timedelta | None, float | None]:
    """A fault's duration or value, as its kind takes it."""
    if kind in _TIMED and arg is not None:
        return parse_duration(arg), None
    if kind is FaultKind.PROBE_SILENT:
        raise ScriptError(f"{line!r}: probe-silent needs a duration")
    if kind in _VALUED:
        if arg is None:
            raise ScriptError(f"{line!r}: {kind} needs a value")
        try:
            return None, float(arg)
        except ValueError as exc:
            raise ScriptError(f"{line!r}: {arg!r} is not a number") from exc
    return None, None


def parse_fault(line: str) -> ScriptedFault:
    """Parse ``AT TARGET KIND [DURATION|VALUE]``, e.g.::

    2h bay 12 power-loss 30m
    90m container FEAU0000007 door-open 10m
    3h vessel power-loss 20m
    1h container FEAU0000003 compressor-failure        (for good)
    1h container FEAU0000003 compressor-failure 2h     (restarts after 2 h)
    5h container FEAU0000003 defrost                   (a defrost cycle starts)
    6h container FEAU0000003 probe-silent 90m          (USDA pulp probe 1 gives no value)
    1h container FEAU0000004 setpoint -10
    4h container FEAU0000005 sensor-drift 0.5      (°C per hour)
    """
    words = line.split()
    if len(words) < 3:
        raise ScriptError(f"{line!r}: expected 'AT TARGET KIND [DURATION|VALUE]'")
    at = parse_duration(words[0])
    rest = words[1:]
    if rest[0] == "vessel":
        target, rest = Target(), rest[1:]
    elif rest[0] == "bay" and len(rest) > 1 and rest[1].isdigit():
        target, rest = Target(bay=int(rest[1])), rest[2:]
    elif rest[0] == "container" and len(rest) > 1:
        target, rest = Target(container_id=rest[1]), rest[2:]
    else:
        raise ScriptError(f"{line!r}: target must be 'vessel', 'bay N' or 'container ID'")
    if not rest:
        raise ScriptError(f"{line!r}: no fault kind")
    try:
        kind = FaultKind(rest[0])
    except ValueError as exc:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ScriptError(f"{line!r}: unknown fault {rest[0]!r} (known: {kinds})") from exc
    duration, value = _argument(line, kind, rest[1] if len(rest) > 1 else None)
    if kind is not FaultKind.POWER_LOSS and target.container_id is None:
        raise ScriptError(f"{line!r}: {kind} happens to one container, not to {target}")
    return ScriptedFault(at=at, target=target, kind=kind, duration=duration, value=value)


def parse_script(text: str) -> list[ScriptedFault]:
    """One fault per line; blank lines and ``#`` comments are skipped."""
    faults = [
        parse_fault(line.split("#", 1)[0])
        for line in text.splitlines()
        if line.split("#", 1)[0].strip()
    ]
    return sorted(faults, key=lambda f: f.at)
