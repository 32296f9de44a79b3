"""Per-container event-time windows as pure functions over a JSON-able state.

The stream processor keeps one state per (container, window) in its store and calls
``start`` for the first reading and ``add`` for the others; ``finish`` turns the state into a
:class:`ContainerWindow` when the window closes. The functions are:

- order-independent: every statistic is a min, max, sum or set, and "latest" is decided by
  (event time, seq), never by arrival, so late and out-of-order readings change nothing;
- duplicate-proof: a (container, seq) already counted leaves the state as it was;
- time-accounting by the nominal reading interval: each reading stands for
  ``reading_interval`` seconds of its state (out of range, door open, defrost, power off),
  starting at its event time;
- placed: each condition also sets the bit of the reading's slot in a mask (one bit per
  ``slot_s`` seconds of the window), and so does each pulp probe that gave a value, so the shore
  can place episodes and probe silences to the reading without the raw readings.

A window's ``seq`` counts window periods since 2020-01-01 (``1 + start // size``), so it is the
same on every run and a jump in it means periods in which the container said nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetedge.devices.cargo import PROFILES
from fleetedge.events.aggregates import ContainerWindow, window_id
from fleetedge.events.telemetry import ReeferReading

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
State = dict[str, Any]


@dataclass(frozen=True)
class WindowConfig:
    size: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(minutes=5)
    reading_interval: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if not timedelta(minutes=1) <= self.size <= timedelta(minutes=60):
            raise ValueError(f"window size must be 1 to 60 minutes, got {self.size}")
        if self.grace < timedelta(0):
            raise ValueError("grace must not be negative")

    def bounds(self, when: datetime) -> tuple[datetime, datetime]:
        """The window that ``when`` falls in: [start, end)."""
        periods = (when - EPOCH) // self.size
        start = EPOCH + periods * self.size
        return start, start + self.size

    def window_seq(self, window_start: datetime) -> int:
        return 1 + (window_start - EPOCH) // self.size

    @property
    def slot_s(self) -> int:
        """Seconds per mask bit: the reading interval, or coarser so a window fits 63 bits."""
        size = int(self.size.total_seconds())
        return max(int(self.reading_interval.total_seconds()), -(-size // 63), 1)

    def slot_bit(self, when: datetime, window_start: datetime | None = None) -> int:
        """The mask bit of the slot ``when`` falls in, within its window (which starts at
        ``window_start``, if the caller knows it already)."""
        start = self.bounds(when)[0] if window_start is None else window_start
        return 1 << int((when - start).total_seconds() // self.slot_s)


def out_of_range(reading: ReeferReading) -> bool:
    """Return air outside the cargo's band around its setpoint, defrost excepted."""
    if reading.defrost:
        return False
    return abs(reading.return_air_c - reading.setpoint_c) > PROFILES[reading.cargo].tolerance_c


def _latest_key(reading: ReeferReading, at_ms: int | None) -> list[int]:
    at = int(reading.event_time.timestamp() * 1000) if at_ms is None else at_ms
    return [at, reading.seq]


def start(
    reading: ReeferReading,
    config: WindowConfig,
    window_start: datetime | None = None,
    at_ms: int | None = None,
) -> State:
    """The state of a window holding just ``reading``. ``window_start`` and ``at_ms`` (the
    reading's event time in ms) spare the work when the caller has them already."""
    interval = int(config.reading_interval.total_seconds())
    bit = config.slot_bit(reading.event_time, window_start)
    return {
        "count": 1,
        "ranges": [[reading.seq, reading.seq]],
        "latest": _latest_key(reading, at_ms),
        "cargo": reading.cargo.value,
        "setpoint_c": reading.setpoint_c,
        "lat": reading.lat,
        "lon": reading.lon,
        "supply": [reading.supply_air_c, reading.supply_air_c, reading.supply_air_c],
        "return": [reading.return_air_c, reading.return_air_c, reading.return_air_c],
        "power_sum": reading.power_kw,
        "oor_s": interval if out_of_range(reading) else 0,
        "door_s": interval if reading.door_open else 0,
        "defrost_s": interval if reading.defrost else 0,
        "power_off_s": 0 if reading.power_on else interval,
        "masks": [
            bit if out_of_range(reading) else 0,
            bit if reading.door_open else 0,
            bit if reading.defrost else 0,
            0 if reading.power_on else bit,
            bit,
        ],
        "pulp": [[p, bit if p is not None else 0] for p in reading.pulp_c],
        "treatment": reading.treatment,
    }


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _pulp(held: list[list[Any]], new: list[list[Any]]) -> list[list[Any]]:
    """Per probe: the higher value and the union of slots (a probe missing on one side: none)."""
    width = max(len(held), len(new))
    pad = [None, 0]
    held = held + [pad] * (width - len(held))
    new = new + [pad] * (width - len(new))
    return [[_max(a[0], b[0]), a[1] | b[1]] for a, b in zip(held, new, strict=True)]


def _insert(ranges: list[list[int]], seq: int) -> list[list[int]] | None:
    """``ranges`` with ``seq`` merged in, or None if it was there already."""
    merged: list[list[int]] = []
    placed = False
    for lo, hi in ranges:
        if lo <= seq <= hi:
            return None
        if not placed and seq < lo:
            merged.append([seq, seq])
            placed = True
        merged.append([lo, hi])
    if not placed:
        merged.append([seq, seq])
    out: list[list[int]] = []
    for lo, hi in merged:
        if out and lo == out[-1][1] + 1:
            out[-1][1] = hi
        else:
            out.append([lo, hi])
    return out


def add(
    state: State,
    reading: ReeferReading,
    config: WindowConfig,
    window_start: datetime | None = None,
    at_ms: int | None = None,
) -> State:
    """``state`` with ``reading`` counted in (unchanged if its seq was counted already);
    ``window_start`` and ``at_ms`` as for :func:`start`."""
    ranges = _insert(state["ranges"], reading.seq)
    if ranges is None:
        return state
    # What start() would make of the reading alone, without building it: this runs per reading.
    interval = int(config.reading_interval.total_seconds())
    bit = config.slot_bit(reading.event_time, window_start)
    oor = out_of_range(reading)
    off = not reading.power_on
    new = dict(state, ranges=ranges, count=state["count"] + 1)
    for key, value in (("supply", reading.supply_air_c), ("return", reading.return_air_c)):
        lo, hi, total = state[key]
        new[key] = [min(lo, value), max(hi, value), round(total + value, 2)]
    new["power_sum"] = round(state["power_sum"] + reading.power_kw, 2)
    new["oor_s"] = state["oor_s"] + (interval if oor else 0)
    new["door_s"] = state["door_s"] + (interval if reading.door_open else 0)
    new["defrost_s"] = state["defrost_s"] + (interval if reading.defrost else 0)
    new["power_off_s"] = state["power_off_s"] + (interval if off else 0)
    # States written before the masks and probes (the changelog's older entries) lack them.
    masks = state.get("masks", [0] * 5)
    new["masks"] = [
        masks[0] | (bit if oor else 0),
        masks[1] | (bit if reading.door_open else 0),
        masks[2] | (bit if reading.defrost else 0),
        masks[3] | (bit if off else 0),
        masks[4] | bit,
    ]
    new["pulp"] = _pulp(
        state.get("pulp", []), [[p, bit if p is not None else 0] for p in reading.pulp_c]
    )
    new["treatment"] = state.get("treatment", False) or reading.treatment
    latest = _latest_key(reading, at_ms)
    if latest > state["latest"]:
        new["latest"] = latest
        new["cargo"] = reading.cargo.value
        new["setpoint_c"] = reading.setpoint_c
        new["lat"] = reading.lat
        new["lon"] = reading.lon
    return new


def finish(
    state: State,
    *,
    vessel_id: str,
    container_id: str,
    window_start: datetime,
    config: WindowConfig,
    resent: bool = False,
) -> ContainerWindow:
    """The closed window's aggregate event (its id is derived, so a replay yields the same)."""
    first, last = state["ranges"][0][0], state["ranges"][-1][1]
    gaps = tuple(
        (state["ranges"][i][1] + 1, state["ranges"][i + 1][0] - 1)
        for i in range(len(state["ranges"]) - 1)
    )
    count = state["count"]
    seq = config.window_seq(window_start)
    oor, door, defrost, off, seen = state.get("masks", [0] * 5)
    pulp = state.get("pulp", [])
    return ContainerWindow(
        event_id=window_id(container_id, config.size, seq),
        vessel_id=vessel_id,
        event_time=window_start + config.size,
        seq=seq,
        container_id=container_id,
        cargo=state["cargo"],
        window_start=window_start,
        window_end=window_start + config.size,
        count=count,
        first_seq=first,
        last_seq=last,
        gaps=gaps,
        setpoint_c=state["setpoint_c"],
        supply_min_c=state["supply"][0],
        supply_max_c=state["supply"][1],
        supply_mean_c=state["supply"][2] / count,
        return_min_c=state["return"][0],
        return_max_c=state["return"][1],
        return_mean_c=state["return"][2] / count,
        mean_power_kw=state["power_sum"] / count,
        seconds_out_of_range=state["oor_s"],
        seconds_door_open=state["door_s"],
        seconds_defrost=state["defrost_s"],
        seconds_power_off=state["power_off_s"],
        lat=state["lat"],
        lon=state["lon"],
        slot_s=config.slot_s,
        out_of_range_slots=oor,
        door_open_slots=door,
        defrost_slots=defrost,
        power_off_slots=off,
        reading_slots=seen,
        pulp_max_c=tuple(p[0] for p in pulp),
        pulp_slots=tuple(p[1] for p in pulp),
        treatment=state.get("treatment", False),
        resent=resent,
    )
