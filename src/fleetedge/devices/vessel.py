"""A vessel's reefers: the manifest, their units, faults, and the readings they report.

Everything random comes from one ``random.Random(seed)`` per vessel and one per container,
drawn in a fixed order, so the same seed gives the same readings, byte for byte.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fleetedge.devices import controls
from fleetedge.devices.cargo import PROFILES
from fleetedge.devices.exceptions import ScriptError
from fleetedge.devices.faults import FaultKind, FaultRates, ScriptedFault
from fleetedge.devices.physics import ReeferUnit, Sensor
from fleetedge.devices.route import Voyage, ambient_c
from fleetedge.events.telemetry import Cargo, ReeferReading
from fleetedge.events.vessel import CommandAction

Params = dict[str, float | int | str]

CARGO_MIX: tuple[tuple[Cargo, float], ...] = (
    (Cargo.FROZEN, 0.45),
    (Cargo.CHILLED, 0.25),
    (Cargo.BANANAS, 0.15),
    (Cargo.PHARMA, 0.10),
    (Cargo.COLD_TREATMENT, 0.05),
)
CONTAINERS_PER_BAY = 40


@dataclass(frozen=True)
class ManifestEntry:
    container_id: str
    bay: int
    cargo: Cargo
    setpoint_c: float


def owner_code(vessel_id: str) -> str:
    """A 4-letter ISO 6346 owner code per vessel (``FE`` + two letters + ``U``... shortened)."""
    digest = uuid.uuid5(uuid.NAMESPACE_DNS, vessel_id).int
    return "F" + chr(65 + digest % 26) + chr(65 + (digest // 26) % 26) + "U"


def manifest(
    vessel_id: str, containers: int, seed: int, wrong_setpoints: float
) -> list[ManifestEntry]:
    """The vessel's reefers: ids, bays, cargo and ordered setpoints (a few wrong, by design)."""
    rng = random.Random(f"{seed}/{vessel_id}/manifest")
    code = owner_code(vessel_id)
    entries = []
    for i in range(containers):
        cargo = rng.choices([c for c, _ in CARGO_MIX], [w for _, w in CARGO_MIX])[0]
        profile = PROFILES[cargo]
        setpoint = profile.usual_setpoint
        if cargo is Cargo.FROZEN:
            setpoint = rng.choice((-18.0, -20.0, -25.0))
        if rng.random() < wrong_setpoints:
            # The classic clerical error: a chilled setpoint typed for frozen cargo, or v.v.
            setpoint = 2.0 if cargo is Cargo.FROZEN else -18.0
        entries.append(
            ManifestEntry(f"{code}{i + 1:07d}", 1 + 2 * (i // CONTAINERS_PER_BAY), cargo, setpoint)
        )
    return entries


@dataclass
class _Outage:
    until: datetime


class VesselSimulator:
    """All reefers of one vessel, read every ``interval`` of simulated time."""

    def __init__(
        self,
        vessel_id: str,
        containers: int,
        *,
        seed: int,
        start: datetime,
        interval: timedelta = timedelta(minutes=1),
        voyage: Voyage | None = None,
        rates: FaultRates | None = None,
        script: list[ScriptedFault] | None = None,
    ) -> None:
        self.vessel_id = vessel_id
        self.start = start
        self.interval = interval
        self.rates = rates if rates is not None else FaultRates()
        self.script = sorted(script or [], key=lambda f: f.at)
        self.voyage = voyage or Voyage(
            ("banana-express", "south-atlantic", "asia-europe")[seed % 3],
            offset_nm=float(seed % 1000),
        )
        self.entries = manifest(vessel_id, containers, seed, self.rates.wrong_setpoint_fraction)
        self.units = [
            ReeferUnit.at_setpoint(
                e.cargo,
                e.setpoint_c,
                phase_h=random.Random(f"{seed}/{e.container_id}").uniform(0, 8),
            )
            for e in self.entries
        ]
        self._rngs = [random.Random(f"{seed}/{e.container_id}/noise") for e in self.entries]
        self._faults = random.Random(f"{seed}/{vessel_id}/faults")
        self._power_until: list[datetime | None] = [None] * containers
        self._door_until: list[datetime | None] = [None] * containers
        self._repair_at: list[datetime | None] = [None] * containers
        self._probe_silent_until: list[datetime | None] = [None] * containers
        self._by_id = {e.container_id: i for i, e in enumerate(self.entries)}
        self._script_next = 0
        self._replays: dict[int, list[tuple[str, CommandAction, Params]]] = defaultdict(list)
        self.tick = 0

    @property
    def container_ids(self) -> list[str]:
        return [e.container_id for e in self.entries]

    @property
    def now(self) -> datetime:
        return self.start + self.tick * self.interval

    def next_readings(self) -> list[ReeferReading]:
        """Advance one interval and return every container's reading at its end."""
        for command in self._replays.pop(self.tick, ()):
            self.carry_out(*command)
        self.tick += 1
        now = self.now
        dt_h = self.interval.total_seconds() / 3600
        self._apply_script(now)
        self._random_faults(now, dt_h)
        lat, lon = self.voyage.position((now - self.start).total_seconds() / 3600)
        ambient = ambient_c(lat, lon, now)
        readings = []
        for i, (entry, unit, rng) in enumerate(
            zip(self.entries, self.units, self._rngs, strict=True)
        ):
            self._expire(i, now)
            unit.step(dt_h, ambient)
            readings.append(
                self._reading(
                    entry, unit, rng, now=now, lat=lat, lon=lon, ambient=ambient, dt_h=dt_h
                )
            )
        return readings

    # -- remote commands ----------------------------------------------------------------------

    def verdict(self, container_id: str, action: CommandAction, params: Params) -> controls.Outcome:
        """What the container's controller would answer to a command now, without acting."""
        index = self._by_id.get(container_id)
        if index is None:
            return controls.Outcome(False, f"no container {container_id} aboard {self.vessel_id}")
        return controls.verdict(self.units[index], action, params)

    def carry_out(self, container_id: str, action: CommandAction, params: Params) -> None:
        """Apply a command :meth:`verdict` accepted, now (between two ticks)."""
        controls.apply(self.units[self._by_id[container_id]], action, params)

    def replay(self, tick: int, container_id: str, action: CommandAction, params: Params) -> None:
        """Apply a command at ``tick`` (after that tick's readings) when the simulation gets
        there: a resumed simulation re-applies what its controllers did before the crash."""
        if tick < self.tick:
            raise ScriptError(f"cannot replay a command at tick {tick}: already at {self.tick}")
        if tick == self.tick:
            self.carry_out(container_id, action, params)
        else:
            self._replays[tick].append((container_id, action, params))

    # -- faults -------------------------------------------------------------------------------

    def _targets(self, fault: ScriptedFault) -> list[int]:
        if fault.target.container_id is not None:
            if fault.target.container_id not in self._by_id:
                raise ScriptError(
                    f"scripted fault names unknown container {fault.target.container_id}"
                )
            return [self._by_id[fault.target.container_id]]
        if fault.target.bay is not None:
            return [i for i, e in enumerate(self.entries) if e.bay == fault.target.bay]
        return list(range(len(self.entries)))

    def schedule(self, fault: ScriptedFault) -> None:
        """Add a fault whose ``at`` counts from now (a live fault): it takes effect at the
        first tick at or after that time. An unknown container fails here, not at the tick."""
        self._targets(fault)
        due = replace(fault, at=self.now - self.start + fault.at)
        pending = self.script[self._script_next :]
        pending.append(due)
        pending.sort(key=lambda f: f.at)
        self.script[self._script_next :] = pending

    def _apply_script(self, now: datetime) -> None:
        while (
            self._script_next < len(self.script)
            and self.start + self.script[self._script_next].at <= now
        ):
            fault = self.script[self._script_next]
            self._script_next += 1
            for i in self._targets(fault):
                self.inject(i, fault.kind, now, fault.duration, fault.value)

    def inject(
        self,
        index: int,
        kind: FaultKind,
        now: datetime,
        duration: timedelta | None = None,
        value: float | None = None,
    ) -> None:
        unit = self.units[index]
        if kind is FaultKind.POWER_LOSS:
            unit.power_on = False
            self._power_until[index] = now + duration if duration else None
        elif kind is FaultKind.DOOR_OPEN:
            unit.door_open = True
            self._door_until[index] = now + (duration or timedelta(minutes=10))
        elif kind is FaultKind.COMPRESSOR_FAILURE:
            unit.health = 0.0
            self._repair_at[index] = now + duration if duration else None
        elif kind is FaultKind.DEFROST:
            controls.apply(unit, CommandAction.DEFROST, {})
        elif kind is FaultKind.PROBE_SILENT:
            self._probe_silent_until[index] = now + (duration or timedelta(hours=1))
        elif kind is FaultKind.COMPRESSOR_DEGRADATION:
            unit.degrade_per_h = value if value is not None else 0.1
        elif kind is FaultKind.SENSOR_DRIFT:
            unit.supply_sensor = Sensor(drift_c_per_h=value if value is not None else 0.5)
        elif kind is FaultKind.SENSOR_STUCK:
            unit.supply_sensor = Sensor(stuck_at=round(unit.box_c, 2))
        elif kind is FaultKind.SETPOINT and value is not None:
            unit.setpoint_c = value

    def _expire(self, i: int, now: datetime) -> None:
        until = self._power_until[i]
        if until is not None and now >= until:
            self.units[i].power_on = True
            self._power_until[i] = None
        door = self._door_until[i]
        if door is not None and now >= door:
            self.units[i].door_open = False
            self._door_until[i] = None
        repair = self._repair_at[i]
        if repair is not None and now >= repair:
            self.units[i].health = 1.0
            self._repair_at[i] = None
        silent = self._probe_silent_until[i]
        if silent is not None and now >= silent:
            self._probe_silent_until[i] = None

    def _random_faults(self, now: datetime, dt_h: float) -> None:
        r, days = self.rates, dt_h / 24
        rng = self._faults
        n = len(self.entries)
        if rng.random() < r.vessel_power_loss * days:
            for i in range(n):
                self.inject(i, FaultKind.POWER_LOSS, now, timedelta(minutes=rng.uniform(10, 40)))
        bays = sorted({e.bay for e in self.entries})
        for bay in bays:
            if rng.random() < r.bay_power_loss * days:
                duration = timedelta(minutes=rng.uniform(20, 90))
                for i in (j for j, e in enumerate(self.entries) if e.bay == bay):
                    self.inject(i, FaultKind.POWER_LOSS, now, duration)
        per_container = (
            (FaultKind.POWER_LOSS, r.power_loss),
            (FaultKind.DOOR_OPEN, r.door_open),
            (FaultKind.COMPRESSOR_DEGRADATION, r.compressor_degradation),
            (FaultKind.SENSOR_DRIFT, r.sensor_drift),
            (FaultKind.SENSOR_STUCK, r.sensor_stuck),
        )
        total = sum(rate for _, rate in per_container) * days * n
        # One draw decides whether any container fault happens this tick, then which: cheap for
        # 2,500 containers and still one fixed sequence of draws per seed.
        if rng.random() < total:
            kind = rng.choices([k for k, _ in per_container], [w for _, w in per_container])[0]
            index = rng.randrange(n)
            self.inject(
                index, kind, now, timedelta(minutes=rng.uniform(5, 60)), rng.uniform(0.05, 0.3)
            )

    # -- readings -----------------------------------------------------------------------------

    def _reading(
        self,
        entry: ManifestEntry,
        unit: ReeferUnit,
        rng: random.Random,
        *,
        now: datetime,
        lat: float,
        lon: float,
        ambient: float,
        dt_h: float,
    ) -> ReeferReading:
        profile = PROFILES[entry.cargo]
        humidity = profile.humidity_pct + rng.gauss(0, 1.5)
        if unit.door_open:
            humidity = 80.0 + rng.gauss(0, 2)
        co2 = (0.6 if entry.cargo is Cargo.BANANAS else 0.04) + abs(rng.gauss(0, 0.02))
        pulp: list[float | None] = list(unit.pulp_readings(rng))
        if pulp and self._probe_silent_until[self._by_id[entry.container_id]] is not None:
            pulp[0] = None  # a silent probe: the recorder logs no value for it
        return ReeferReading(
            vessel_id=self.vessel_id,
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            event_time=now,
            seq=self.tick,
            container_id=entry.container_id,
            bay=entry.bay,
            cargo=entry.cargo,
            setpoint_c=unit.setpoint_c,
            supply_air_c=max(-70.0, min(70.0, unit.supply_air_c(rng, dt_h))),
            return_air_c=max(-70.0, min(70.0, unit.return_air_c(rng))),
            ambient_c=ambient,
            humidity_pct=max(0.0, min(100.0, humidity)),
            co2_pct=co2,
            o2_pct=20.95 - co2,
            power_kw=unit.power_kw(),
            power_on=unit.power_on,
            compressor=unit.compressor,
            defrost=unit.defrosting,
            door_open=unit.door_open,
            alarm_codes=unit.alarm_codes(),
            lat=lat,
            lon=lon,
            pulp_c=tuple(pulp),
            treatment=unit.treatment,
        )
