"""The checks a command passes before anything is sent; each refusal names its field.

- the action is one an operator may order remotely (``set_setpoint``, ``defrost``,
  ``pre_trip_inspection``);
- the container is known ashore and is on the vessel named;
- a setpoint lies within the unit's range (-30..+30 °C, the range of current reefer units) and
  within the range the container's cargo allows (``devices/cargo.py``);
- the expiry lies ahead, at most ``MAX_TTL`` away;
- one container gets at most ``RateLimiter.limit`` commands per ``RateLimiter.period``.

The vessel checks expiry again on arrival and the reefer controller checks the unit's range
again: the shore's checks spare the link, the vessel's keep the box safe whatever arrives.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fleetedge.commands.exceptions import CommandRefused
from fleetedge.devices.cargo import PROFILES
from fleetedge.devices.controls import UNIT_SETPOINT_RANGE
from fleetedge.events.telemetry import Cargo
from fleetedge.events.vessel import CommandAction

ACTIONS = (
    CommandAction.SET_SETPOINT,
    CommandAction.DEFROST,
    CommandAction.PRE_TRIP_INSPECTION,
)
MIN_TTL = timedelta(seconds=10)
MAX_TTL = timedelta(days=7)


@dataclass(frozen=True)
class CommandRequest:
    """What an operator asks for."""

    vessel_id: str
    container_id: str
    action: CommandAction
    setpoint_c: float | None
    ttl: timedelta
    issued_by: str


@dataclass(frozen=True)
class Target:
    """What the shore knows of the container (from the read model)."""

    container_id: str
    vessel_id: str
    cargo: Cargo


def check(request: CommandRequest, target: Target | None) -> dict[str, float | int | str]:
    """The command's params if every check passes; :class:`CommandRefused` otherwise."""
    if request.action not in ACTIONS:
        raise CommandRefused(
            "action",
            f"{request.action.value} cannot be ordered remotely; "
            f"one of {', '.join(a.value for a in ACTIONS)}",
        )
    if target is None:
        raise CommandRefused("container_id", f"no container {request.container_id} is known ashore")
    if target.vessel_id != request.vessel_id:
        raise CommandRefused(
            "container_id",
            f"container {request.container_id} is aboard {target.vessel_id}, "
            f"not {request.vessel_id}",
        )
    if not MIN_TTL <= request.ttl <= MAX_TTL:
        raise CommandRefused("ttl", f"the expiry must lie {MIN_TTL} to {MAX_TTL} ahead")
    if request.action is not CommandAction.SET_SETPOINT:
        if request.setpoint_c is not None:
            raise CommandRefused("setpoint_c", f"{request.action.value} takes no setpoint")
        return {}
    return {"setpoint_c": _setpoint(request.setpoint_c, target.cargo)}


def _setpoint(value: float | None, cargo: Cargo) -> float:
    if value is None:
        raise CommandRefused("setpoint_c", "set_setpoint needs a setpoint_c")
    low, high = UNIT_SETPOINT_RANGE
    if not low <= value <= high:
        raise CommandRefused(
            "setpoint_c", f"setpoint {value} °C is outside the unit's range {low}..{high} °C"
        )
    profile = PROFILES[cargo]
    if not profile.setpoint_ok(value):
        raise CommandRefused(
            "setpoint_c",
            f"setpoint {value} °C is outside what {cargo.value} cargo allows "
            f"({profile.setpoint_min}..{profile.setpoint_max} °C)",
        )
    return round(value, 2)


def expiry(now: datetime, ttl: timedelta) -> datetime:
    return (now + ttl).replace(microsecond=0)


@dataclass
class RateLimiter:
    """At most ``limit`` commands per container in any ``period`` (a sliding window), for one
    issuing process. A refused command does not count."""

    limit: int = 5
    period: float = 600.0
    _sent: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, container: str) -> None:
        """Count a command for ``container``, or refuse it (field ``container_id``)."""
        now = time.monotonic()
        with self._lock:
            sent = self._sent[container]
            while sent and now - sent[0] >= self.period:
                sent.popleft()
            if len(sent) >= self.limit:
                wait = self.period - (now - sent[0])
                raise CommandRefused(
                    "container_id",
                    f"{container} had {self.limit} commands in the last {self.period:.0f} s; "
                    f"try again in {wait:.0f} s",
                    limited=True,
                )
            sent.append(now)

    def give_back(self, container: str) -> None:
        """Uncount the last command (it was refused after the limiter took it)."""
        with self._lock:
            if self._sent[container]:
                self._sent[container].pop()
