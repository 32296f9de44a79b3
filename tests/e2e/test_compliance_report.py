"""A compliance report on the whole running fleet: a cold-treated reefer of vessel-2 gets a door
opening, a defrost, a power loss and a compressor trip while the vessel's link is cut; the
report, fetched from the API, lists each with the start and end its raw readings aboard give,
the right time in range, the windows written during the cut as "arrived late", and the same
verdict the raw readings give.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleetedge.devices import FaultRates, manifest
from fleetedge.events import ContainerWindow, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.events.telemetry import Cargo
from fleetedge.reports.schedules import schedule
from fleetedge.runtime.reading import read_to_end
from tests.support import voyage
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka
SCRIPTED = timedelta(hours=4)  # simulated: 2 minutes at the shared fleet's 120x


def _sim_args(running_fleet: RunningFleet, vessel: str) -> tuple[str, ...]:
    return next(s.args for s in running_fleet.plan.services if s.name == f"sim-{vessel}")


def _cold_treated(running_fleet: RunningFleet, vessel: str) -> str:
    args = _sim_args(running_fleet, vessel)
    seed = int(args[args.index("--seed") + 1])
    entries = manifest(
        vessel, running_fleet.plan.containers, seed, FaultRates().wrong_setpoint_fraction
    )
    return next(e.container_id for e in entries if e.cargo is Cargo.COLD_TREATMENT)


def _report(running_fleet: RunningFleet, container: str, **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    found: dict[str, Any] = running_fleet.get(f"/api/containers/{container}/report?{query}")
    return found


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.mark.slow
def test_a_scripted_voyage_reads_in_the_report_as_aboard_with_the_cut_arrived_late(
    running_fleet: RunningFleet,
) -> None:
    vessel = running_fleet.plan.vessels[1]
    box = _cold_treated(running_fleet, vessel)
    wait_for(lambda: _report(running_fleet, box), 300, f"{box}'s first window ashore")
    args = _sim_args(running_fleet, vessel)
    aboard = args[args.index("--bootstrap") + 1]
    # The script starts after the box's last window closed aboard: close to the simulator's
    # now, however far the shore lags behind on a loaded machine (at 120x, a minute's lag is
    # two simulated hours, and the scripted four would start before the faults).
    begin = max(
        w.window_end
        for w in (decode(v) for v in read_to_end(aboard, t.AGGREGATES.name))
        if isinstance(w, ContainerWindow) and w.container_id == box
    )
    # Handed over together, so the simulator reads all four at one tick: four `fleet chaos
    # fault` runs took long enough on a loaded machine (at 120x, 10 s is 20 simulated minutes)
    # to push the last faults out of the scripted hours. The command is tested on the page.
    chaos = running_fleet.chaos()
    for fault in (
        "3m container {box} door-open 10m",
        "25m container {box} defrost",
        "45m container {box} power-loss 30m",
        "90m container {box} compressor-failure 90m",
    ):
        chaos.fault(vessel, fault.format(box=box))

    def windows_aboard() -> int:
        return sum(1 for v in read_to_end(aboard, t.AGGREGATES.name) if box.encode() in v)

    written = windows_aboard()
    running_fleet.fleet("chaos", "cut-link", vessel)
    # Once the command returns the link is cut (on a loaded machine the command alone can
    # take seconds, and a window written meanwhile crosses before the cut).
    cut_at = datetime.now(UTC)
    try:
        # Cut for as long as the vessel takes to write twelve of the box's windows (3 h of the
        # 4 scripted): at 120x, about 8 of them are written well inside the cut (below).
        wait_for(lambda: windows_aboard() >= written + 12, 300, "12 windows written in the cut")
    finally:
        restored_at = datetime.now(UTC)
        running_fleet.fleet("chaos", "restore-link", vessel)
    end = begin + SCRIPTED
    params = {"from": _iso(begin), "to": _iso(end), "schedule": "T107-a", "late_after_s": "20"}

    def complete() -> dict[str, Any] | None:
        report = _report(running_fleet, box, **params)
        full = report["windows"] == SCRIPTED // timedelta(minutes=15)
        return (
            report if full and not [g for g in report["gaps"] if g["kind"] == "missing"] else None
        )

    report = wait_for(complete, 600, "every window of the scripted hours ashore")
    readings = [
        r for r in (decode(v) for v in read_to_end(aboard, t.TELEMETRY.name))
        if isinstance(r, ReeferReading) and r.container_id == box and begin <= r.event_time < end
    ]  # fmt: skip
    assert readings[0].pulp_c, "readings of cold-treated fruit carry the pulp probes"

    # Each event where the raw readings put it.
    expected = voyage.episodes(readings)
    for kind in ("excursion", "defrost", "power off", "door open"):
        got = [(_at(e["start"]), _at(e["end"])) for e in report["events"] if e["kind"] == kind]
        assert got == expected[kind], kind
    minutes = {k: [(e - s) // timedelta(minutes=1) for s, e in v] for k, v in expected.items()}
    assert 10 in minutes["door open"]
    assert 30 in minutes["power off"]
    assert minutes["defrost"]
    assert minutes["excursion"]
    recorded, out = voyage.minutes_in_range(readings)
    tir = report["time_in_range"]
    assert (tir["recorded_minutes"], tir["out_of_range_minutes"]) == (recorded, out)

    # What the vessel wrote during the cut arrived late, and the gaps say so.
    late_spans = [(_at(g["start"]), _at(g["end"])) for g in report["gaps"]
                  if g["kind"] == "arrived late"]  # fmt: skip
    in_cut = [
        p for p in report["series"]
        if cut_at + timedelta(seconds=5) <= _at(p["sent_at"]) <= restored_at - timedelta(seconds=25)
    ]  # fmt: skip
    assert len(in_cut) >= 4, "windows written in the cut"
    for p in in_cut:
        assert p["late"], p
        assert any(s <= _at(p["start"]) and _at(p["end"]) <= e for s, e in late_spans), p

    # The verdict is the raw readings' verdict: the cut is not a gap in the recording.
    verdict = report["verdict"]
    oracle = voyage.judge(readings, schedule("T107-a"), end)
    assert verdict["status"] == oracle.status == "failed"  # 4 hours of 12 days
    assert _at(verdict["count_start"]) == oracle.start
    assert verdict["days_counted"] == oracle.days
    assert not [r for r in verdict["reasons"] if "silent" in r]
