"""A scripted cold-treatment voyage without Kafka: the simulator's readings through the edge's
own logic into windows, and those windows into a SQLite read model as the projector writes
them; with oracles computed from the raw readings alone, to check the reports against.

The link is modelled by the stamps the shore's normalizer puts on each window: sent when the
window closed, received a few seconds later, or after the outage for windows of an outage.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.devices.cargo import PROFILES
from fleetedge.devices.faults import parse_script
from fleetedge.edge.logic import EdgeLogic
from fleetedge.edge.store import DictStore
from fleetedge.events import JSON, ContainerWindow, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.events.telemetry import Cargo
from fleetedge.events.validation import ReadingValidator
from fleetedge.projections import ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.sqlite import SqliteDatabase
from fleetedge.reports.schedules import Schedule
from fleetedge.shore import ranges

T0 = datetime(2026, 11, 2, tzinfo=UTC)
VESSEL, CONTAINERS, SEED = "vessel-9", 8, 0  # three cold-treated boxes among eight
MINUTE = timedelta(minutes=1)
WINDOW = timedelta(minutes=15)


@dataclass
class Voyage:
    readings: dict[str, list[ReeferReading]] = field(default_factory=lambda: defaultdict(list))
    windows: list[ContainerWindow] = field(default_factory=list)

    def cold_treated(self) -> list[str]:
        return sorted(c for c, rs in self.readings.items() if rs[0].cargo is Cargo.COLD_TREATMENT)


def sail(script: str, duration: timedelta, keep: set[str] | None = None) -> Voyage:
    """Run the vessel for ``duration``; ``keep`` limits the edge to those containers."""
    sim = VesselSimulator(
        VESSEL,
        CONTAINERS,
        seed=SEED,
        start=T0,
        rates=FaultRates.none(),
        script=parse_script(script),
    )
    validator = ReadingValidator(VESSEL, sim.container_ids, max_future=timedelta(days=36500))
    logic, store = EdgeLogic(VESSEL, validator), DictStore()
    voyage = Voyage()
    offset = 0
    for _ in range(int(duration / MINUTE)):
        for reading in sim.next_readings():
            if keep is not None and reading.container_id not in keep:
                continue
            voyage.readings[reading.container_id].append(reading)
            for out in logic.handle(store, JSON.encode(reading), 0, offset):
                if out.topic == t.AGGREGATES.name:
                    window = decode(out.value)
                    assert isinstance(window, ContainerWindow)
                    voyage.windows.append(window)
            offset += 1
    return voyage


def cold_treated() -> list[str]:
    sim = VesselSimulator(VESSEL, CONTAINERS, seed=SEED, start=T0, rates=FaultRates.none())
    return [e.container_id for e in sim.entries if e.cargo is Cargo.COLD_TREATMENT]


def project(
    path: Path,
    windows: list[ContainerWindow],
    *,
    outage: tuple[datetime, datetime] | None = None,
    dropped: set[tuple[str, int]] | None = None,
) -> None:
    """Write ``windows`` to a read model at ``path`` as the shore would have them: stamped by
    the normalizer, the windows closed in ``outage`` received at its end, ``dropped`` ones
    never received (with the completeness the analytics would give)."""
    dropped = dropped or set()
    db = SqliteDatabase(path)
    gen = ensure_projection(db)
    kept = [w for w in windows if (w.container_id, w.seq) not in dropped]
    records = []
    for w in kept:
        sent = w.window_end + timedelta(minutes=5)  # closed after its grace
        received = sent + timedelta(seconds=4)
        if outage is not None and outage[0] <= sent < outage[1]:
            received = outage[1] + timedelta(seconds=30)
        stamped = w.model_copy(update={"sent_at": sent, "received_at": received})
        records.append((t.FLEET_WINDOWS.name, JSON.encode(stamped)))
    by_container: dict[str, list[list[int]]] = defaultdict(list)
    for w in kept:
        by_container[w.container_id] = ranges.merge(
            by_container[w.container_id], w.first_seq, w.last_seq
        )
    for container, held in by_container.items():
        count = sum(1 for w in kept if w.container_id == container)
        doc = {
            "container_id": container,
            "vessel_id": VESSEL,
            "received": ranges.size(held),
            "windows": count,
            "ranges": held,
            "gaps": ranges.gaps(held),
        }
        records.append((t.FLEET_COMPLETENESS.name, orjson.dumps(doc)))
    with db.transaction() as cur:
        projection_rows.write(cur, gen, records)
    db.close()


# -- oracles from the raw readings -------------------------------------------------------------


def episodes(readings: list[ReeferReading]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Per condition, runs of consecutive readings that show it: [first, last + a minute)."""
    tolerance = PROFILES[readings[0].cargo].tolerance_c
    tests: dict[str, Callable[[ReeferReading], bool]] = {
        "excursion": lambda r: not r.defrost and abs(r.return_air_c - r.setpoint_c) > tolerance,
        "defrost": lambda r: r.defrost,
        "power off": lambda r: not r.power_on,
        "door open": lambda r: r.door_open,
    }
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    for kind, test in tests.items():
        runs: list[tuple[datetime, datetime]] = []
        for r in readings:
            if not test(r):
                continue
            if runs and runs[-1][1] == r.event_time:
                runs[-1] = (runs[-1][0], r.event_time + MINUTE)
            else:
                runs.append((r.event_time, r.event_time + MINUTE))
        out[kind] = runs
    return out


def minutes_in_range(readings: list[ReeferReading]) -> tuple[int, int]:
    """(recorded minutes, minutes out of range)."""
    out = sum((e[1] - e[0] for e in episodes(readings)["excursion"]), timedelta(0))
    return len(readings), out // MINUTE


@dataclass(frozen=True)
class Judged:
    status: str
    start: datetime | None  # of the passing count, or the longest
    days: float


def judge(readings: list[ReeferReading], schedule: Schedule, until: datetime) -> Judged:
    """The schedule's verdict by brute force: a 15-minute period counts for a row when every
    probe read in it and every value was at or below the row; a probe silent over an hour
    breaks the count; a row passes when a count lasts its days. Readings from ``until`` on
    are left out (their window had not closed)."""
    periods: dict[datetime, list[ReeferReading]] = defaultdict(list)
    for r in readings:
        if r.event_time < until:  # the periods the edge closed as windows
            periods[T0 + (r.event_time - T0) // WINDOW * WINDOW].append(r)
    probes = max(len(r.pulp_c) for r in readings)
    silent: list[tuple[datetime, datetime]] = []
    for p in range(probes):
        times = [r.event_time for r in readings if r.pulp_c[p] is not None]
        silent += [(a, b) for a, b in itertools.pairwise(times) if b - a > timedelta(hours=1)]
    runs: list[tuple[float, int, datetime, datetime]] = []  # (row temp, days, start, end)
    for row in schedule.rows:
        start: datetime | None = None
        end = T0
        for period in sorted(periods):
            values = [r.pulp_c[p] for r in periods[period] for p in range(probes)]
            broken = any(a < period + WINDOW and b > period for a, b in silent)
            ok = None not in values and max(v for v in values if v is not None) <= row.max_pulp_c
            if ok and not broken:
                start = start or period
                end = period + WINDOW
                continue
            if start is not None and end > start:
                runs.append((row.max_pulp_c, row.days, start, end))
            start, end = (period + WINDOW, period + WINDOW) if ok else (None, T0)
        if start is not None and end > start:
            runs.append((row.max_pulp_c, row.days, start, end))
    passing = [r for r in runs if r[3] - r[2] >= timedelta(days=r[1])]
    if passing:
        first = min(passing, key=lambda r: r[2] + timedelta(days=r[1]))
        return Judged("passed", first[2], float(first[1]))
    longest = max(runs, key=lambda r: (r[3] - r[2]) / timedelta(days=r[1]))
    return Judged("failed", longest[2], round((longest[3] - longest[2]) / timedelta(days=1), 2))
