"""A lumped thermal model of one reefer container.

The box (cargo and return air) is one temperature ``box_c``. Per hour it changes by

    dT/dt = (ambient - T) / TAU_LEAK_H                   heat leaking through the walls
          + (ambient - T) / TAU_DOOR_H   if door open    warm air reaching the cargo
          + DEFROST_HEAT_C_PER_H         if defrosting   the evaporator heater
          - cooling

``cooling`` is what the controller asks for, ``leak + (T - setpoint) / TAU_CONTROL_H`` (hold
the setpoint and pull back any error within about 12 minutes), clipped to ``0..capacity``.
``capacity`` is ``MAX_COOLING_C_PER_H`` times the compressor's health (1 new, 0 failed), so a
degraded compressor settles above the setpoint where the leak equals its capacity, and a failed
one warms toward ambient like a box without power.

Parameters (a loaded 40' reefer): TAU_LEAK_H = 50 h, so a frozen box at -20 °C in 30 °C air
warms at 1 °C/h at first when power is lost, in line with observed 0.5-1 °C/h for loaded
frozen cargo; MAX_COOLING = 8 °C/h; a defrost runs 25 minutes with the heater adding 1.5 °C/h,
so the return air rises by about 1 °C and comes back within a quarter of an hour.

An open door matters most to the air, little to the cargo: the return air carries an offset
that moves toward the outside air (time constant TAU_DOOR_AIR_H = 6 minutes) while the door is
open and fades as fast once it is shut, so a short opening is a spike that is over within
minutes, while the cargo itself warms only slowly (TAU_DOOR_H = 5 h).

Cold-treated fruit carries USDA pulp probes (PULP_PROBES, each placed a little differently:
PROBE_OFFSETS_C). The pulp follows the box air with a lag (TAU_PULP_H = 3 h): a pallet of
fruit is a large thermal mass, so a short spike of the air barely moves it.

Supply air leaves the coil colder than the return air by up to COIL_DELTA_C at full cooling;
sensors add Gaussian noise (sigma 0.05 °C) and report at 0.01 °C resolution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from fleetedge.devices.cargo import PROFILES
from fleetedge.events.telemetry import Cargo, Compressor

TAU_LEAK_H = 50.0
TAU_DOOR_H = 5.0
TAU_DOOR_AIR_H = 0.1
TAU_CONTROL_H = 0.2
MAX_COOLING_C_PER_H = 8.0
DEFROST_HEAT_C_PER_H = 1.5
DEFROST_DURATION_H = 25 / 60
COIL_DELTA_C = 4.0
SENSOR_SIGMA_C = 0.05
FAN_KW = 0.8
COMPRESSOR_KW = 4.5
HEATER_KW = 3.0
TAU_PULP_H = 3.0
PROBE_OFFSETS_C = (0.0, 0.04, 0.08)
PULP_SIGMA_C = 0.02
MAX_STEP_H = 1 / 60  # integrate in steps of at most a minute

ALARM_POWER_FAILURE = 1
ALARM_COMPRESSOR = 20
ALARM_HIGH_TEMPERATURE = 56


@dataclass
class Sensor:
    """A supply-air probe that may drift (°C per hour) or stick at a value."""

    drift_c_per_h: float = 0.0
    bias_c: float = 0.0
    stuck_at: float | None = None

    def read(self, true_c: float, rng: random.Random, dt_h: float) -> float:
        self.bias_c += self.drift_c_per_h * dt_h
        if self.stuck_at is not None:
            return self.stuck_at
        return true_c + self.bias_c + rng.gauss(0.0, SENSOR_SIGMA_C)


@dataclass
class ReeferUnit:
    """One container's refrigeration unit and cargo, stepped through simulated time."""

    cargo: Cargo
    setpoint_c: float
    box_c: float
    health: float = 1.0
    degrade_per_h: float = 0.0
    power_on: bool = True
    door_open: bool = False
    defrost_left_h: float = 0.0
    since_defrost_h: float = 0.0
    supply_sensor: Sensor = field(default_factory=Sensor)
    cooling_c_per_h: float = 0.0
    air_offset_c: float = 0.0
    pulp_c: list[float] = field(default_factory=list)

    @classmethod
    def at_setpoint(cls, cargo: Cargo, setpoint_c: float, phase_h: float = 0.0) -> ReeferUnit:
        """A unit in steady state, ``phase_h`` hours into its defrost cycle."""
        pulp = [setpoint_c + o for o in PROBE_OFFSETS_C] if cargo is Cargo.COLD_TREATMENT else []
        return cls(
            cargo=cargo,
            setpoint_c=setpoint_c,
            box_c=setpoint_c,
            since_defrost_h=phase_h,
            pulp_c=pulp,
        )

    @property
    def treatment(self) -> bool:
        return bool(self.pulp_c)

    def pulp_readings(self, rng: random.Random) -> list[float]:
        """What the pulp probes read now."""
        return [p + rng.gauss(0.0, PULP_SIGMA_C) for p in self.pulp_c]

    @property
    def compressor(self) -> Compressor:
        if self.health <= 0.0:
            return Compressor.FAILED
        running = self.power_on and self.defrost_left_h <= 0 and self.cooling_c_per_h > 0
        return Compressor.RUNNING if running else Compressor.OFF

    @property
    def defrosting(self) -> bool:
        return self.power_on and self.defrost_left_h > 0

    def step(self, dt_h: float, ambient_c: float) -> None:
        """Advance by ``dt_h`` hours in air of ``ambient_c``."""
        remaining = dt_h
        while remaining > 1e-12:
            h = min(remaining, MAX_STEP_H)
            self._substep(h, ambient_c)
            remaining -= h

    def _substep(self, h: float, ambient_c: float) -> None:
        if self.degrade_per_h:
            self.health = max(0.0, self.health - self.degrade_per_h * h)
        leak = (ambient_c - self.box_c) / TAU_LEAK_H
        door = (ambient_c - self.box_c) / TAU_DOOR_H if self.door_open else 0.0
        heat = 0.0
        cooling = 0.0
        if self.power_on:
            self.since_defrost_h += h
            interval = PROFILES[self.cargo].defrost_interval_h
            if self.defrost_left_h <= 0 and self.since_defrost_h >= interval:
                self.defrost_left_h = DEFROST_DURATION_H
                self.since_defrost_h = 0.0
            if self.defrost_left_h > 0:
                heat = DEFROST_HEAT_C_PER_H
                self.defrost_left_h -= h
            else:
                wanted = leak + door + (self.box_c - self.setpoint_c) / TAU_CONTROL_H
                cooling = min(max(wanted, 0.0), MAX_COOLING_C_PER_H * self.health)
        self.cooling_c_per_h = cooling
        self.box_c += (leak + door + heat - cooling) * h
        lag = min(1.0, h / TAU_PULP_H)
        self.pulp_c = [
            p + (self.box_c + o - p) * lag
            for p, o in zip(self.pulp_c, PROBE_OFFSETS_C, strict=False)
        ]
        target = ambient_c - self.box_c if self.door_open else 0.0
        self.air_offset_c += (target - self.air_offset_c) * min(1.0, h / TAU_DOOR_AIR_H)

    def supply_air_c(self, rng: random.Random, dt_h: float) -> float:
        """What the supply probe reads now (coil outlet air)."""
        if not self.power_on:
            true = self.box_c
        elif self.defrosting:
            true = self.box_c + 2.0
        else:
            true = self.box_c - COIL_DELTA_C * self.cooling_c_per_h / MAX_COOLING_C_PER_H
        return self.supply_sensor.read(true, rng, dt_h)

    def return_air_c(self, rng: random.Random) -> float:
        return self.box_c + self.air_offset_c + rng.gauss(0.0, SENSOR_SIGMA_C)

    def power_kw(self) -> float:
        if not self.power_on:
            return 0.0
        if self.defrosting:
            return FAN_KW + HEATER_KW
        if self.health <= 0.0:
            return FAN_KW
        # A worn compressor works as hard for less cooling.
        effort = min(1.0, self.cooling_c_per_h / (MAX_COOLING_C_PER_H * max(self.health, 0.05)))
        return FAN_KW + COMPRESSOR_KW * effort

    def alarm_codes(self) -> tuple[int, ...]:
        codes = []
        if not self.power_on:
            codes.append(ALARM_POWER_FAILURE)
        if self.health <= 0.0:
            codes.append(ALARM_COMPRESSOR)
        if self.box_c > self.setpoint_c + 5.0:
            codes.append(ALARM_HIGH_TEMPERATURE)
        return tuple(codes)
