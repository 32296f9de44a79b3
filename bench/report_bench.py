"""Cold-chain reports: one container's 30-day report, and a fleet summary over 400 containers,
against a plain query that reads the same rows, in the same run.

A SQLite read model is filled through the projector's own row writer with ``--containers``
reefers of ``--days`` days of 15-minute windows each (version 2: slot masks, and three pulp
probes on every tenth box, which is cold-treated). Every box has a defrost every 12 hours
followed by a few minutes out of range, and a door opening a day, so each report has events.

Figures (median of ``--rounds``):
- report: ``container_report`` (JSON model), then JSON, CSV and PDF bytes; baseline: the plain
  ``SELECT`` of that container's windows;
- summary: ``summary`` of the whole fleet (with and without a schedule); baseline: the plain
  ``SELECT`` of every window of the fleet.

Usage: ``python -m bench.report_bench [--containers 400] [--days 30] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from fleetedge.api import ReadModel
from fleetedge.events import topics as t
from fleetedge.projections import ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.sqlite import SqliteDatabase
from fleetedge.reports import container_report, summary, to_csv, to_json, to_pdf

T0 = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _window(container: int, k: int, treated: bool) -> dict[str, Any]:
    start = T0 + k * WINDOW
    minute = k * 15
    defrost = 0b1_1111_1111 if minute % 720 == 240 else 0  # 9 minutes from the window's start
    after = (0b111 << 9) if defrost else 0  # then 3 minutes out of range
    door = 0b11 << 4 if minute % 1440 == 600 else 0
    doc: dict[str, Any] = {
        "kind": "reefer.window", "schema_version": 2,
        "event_id": f"00000000-0000-4000-8000-{k:012d}",
        "vessel_id": f"vessel-{1 + container // 100}", "event_time": (start + WINDOW).isoformat(),
        "seq": 1 + (start - EPOCH) // WINDOW, "container_id": f"BNCU{container:07d}",
        "cargo": "cold_treatment" if treated else "chilled",
        "window_start": start.isoformat(), "window_end": (start + WINDOW).isoformat(),
        "count": 15, "first_seq": 15 * k + 1, "last_seq": 15 * k + 15, "gaps": [],
        "setpoint_c": 0.5 if treated else 2.0, "supply_min_c": 0.1, "supply_max_c": 0.6,
        "supply_mean_c": 0.3, "return_min_c": 0.5, "return_max_c": 1.4 if after else 0.9,
        "return_mean_c": 0.7, "mean_power_kw": 2.0, "seconds_out_of_range": 180 if after else 0,
        "seconds_door_open": 120 if door else 0, "seconds_defrost": 540 if defrost else 0,
        "seconds_power_off": 0, "lat": 10.0, "lon": 20.0, "slot_s": 60,
        "out_of_range_slots": after, "door_open_slots": door, "defrost_slots": defrost,
        "power_off_slots": 0, "reading_slots": (1 << 15) - 1, "treatment": treated,
        "pulp_max_c": [0.6, 0.62, 0.65] if treated else [],
        "pulp_slots": [(1 << 15) - 1] * 3 if treated else [], "resent": False,
        "sent_at": (start + WINDOW * 1.4).isoformat(),
        "received_at": (start + WINDOW * 1.5).isoformat(),
    }  # fmt: skip
    return doc


def fill(path: Path, containers: int, days: int) -> int:
    db = SqliteDatabase(path)
    gen = ensure_projection(db)
    per = days * 96
    for c in range(containers):
        batch = [
            (t.FLEET_WINDOWS.name, orjson.dumps(_window(c, k, c % 10 == 0))) for k in range(per)
        ]
        with db.transaction() as cur:
            projection_rows.write(cur, gen, batch)
    db.close()
    return containers * per


def timed(fn: Callable[[], object], rounds: int) -> float:
    runs = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--containers", type=int, default=400)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.db"
        began = time.perf_counter()
        windows = fill(path, args.containers, args.days)
        print(f"read model: {windows:,} windows of {args.containers} containers x {args.days} "
              f"days, filled in {time.perf_counter() - began:.0f} s")  # fmt: skip
        db = ReadModel(f"sqlite:///{path}")
        box = "BNCU0000000"  # cold-treated
        plain = timed(lambda: db.rows(
            "SELECT * FROM {container_windows} WHERE container_id = ? ORDER BY seq", (box,)
        ), args.rounds)  # fmt: skip
        report = container_report(db, box, schedule_name="T107-a")
        figures = {
            "report (model)": timed(lambda: container_report(db, box, schedule_name="T107-a"),
                                    args.rounds),
            "  + JSON": timed(lambda: to_json(container_report(db, box)), args.rounds),
            "  + CSV": timed(lambda: to_csv(container_report(db, box)), args.rounds),
            "  + PDF": timed(lambda: to_pdf(container_report(db, box, schedule_name="T107-a")),
                             args.rounds),
        }  # fmt: skip
        print(f"one container, {report.windows} windows, {len(report.events)} events, verdict "
              f"{report.verdict.status if report.verdict else '-'}")  # fmt: skip
        print(f"  plain query of its windows   {plain * 1000:8.1f} ms   1.00x")
        for name, s in figures.items():
            print(f"  {name:<28} {s * 1000:8.1f} ms {s / plain:6.1f}x")
        every = timed(lambda: db.rows("SELECT * FROM {container_windows}"), 1)
        fleet = timed(lambda: summary(db), 1)
        treated = timed(lambda: summary(db, schedule_name="T107-a"), 1)
        found = summary(db, schedule_name="T107-a")
        print(f"fleet summary, {found.containers_checked} containers, {len(found.broke)} listed")
        print(f"  plain query of every window  {every:8.2f} s    1.00x")
        print(f"  summary                      {fleet:8.2f} s {fleet / every:6.1f}x")
        print(f"  summary with T107-a          {treated:8.2f} s {treated / every:6.1f}x")
        db.close()


if __name__ == "__main__":
    main()
