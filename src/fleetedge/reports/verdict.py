"""A cold treatment's verdict against a schedule, from the windows' pulp probes.

How it counts (7 CFR 305.6 as ``schedules.json`` states it, resolved to the 15-minute window):

1. A window qualifies for a row when every probe (at least ``min_probes``) reported in it and
   its highest value is at or below the row's temperature. A window's maximum covers all its
   readings, so a window that qualifies had every reading at or below: conservative.
2. The count starts at the first qualifying window (every probe has reached the temperature)
   and runs while windows qualify. A window above the row's temperature breaks the count; it
   starts again at the next qualifying window.
3. A probe that gives no reading for more than ``max_reading_gap_s`` invalidates the treatment
   so far: the count breaks there, and the report says which probe and when. If the shore
   lacks the readings of such a period (not yet backfilled), the verdict is ``incomplete``, not
   a failure: the vessel has them.
4. The treatment passes on a row when a count reaches the row's days. The schedule passes when
   any row does (a higher temperature needs more days).

A link outage changes nothing here: its windows come later, with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fleetedge.reports.record import Window
from fleetedge.reports.schedules import Row, Schedule
from fleetedge.reports.timeline import Span


@dataclass(frozen=True)
class Run:
    """A count of consecutive qualifying time against one row."""

    row: Row
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    @property
    def complete(self) -> bool:
        return self.days >= self.row.days

    @property
    def completed_at(self) -> datetime:
        return self.start + timedelta(days=self.row.days)


@dataclass
class Verdict:
    schedule: Schedule
    status: str  # passed | failed | incomplete
    summary: str
    run: Run | None = None  # the passing run, or the longest of the best row
    reasons: list[str] = field(default_factory=list)
    silences: list[Span] = field(default_factory=list)

    @property
    def first_day(self) -> str | None:
        return f"{self.run.start:%Y-%m-%d}" if self.run else None

    @property
    def last_day(self) -> str | None:
        if self.run is None:
            return None
        end = self.run.completed_at if self.run.complete else self.run.end
        return f"{end - timedelta(microseconds=1):%Y-%m-%d}"


def _silences(windows: list[Window], probes: int, limit: timedelta) -> list[Span]:
    """Per probe, every stretch longer than ``limit`` between two of its readings."""
    out: list[Span] = []
    for p in range(probes):
        last: datetime | None = None
        for w in windows:
            slots = w.probes[p].slots if p < len(w.probes) else 0
            bit = 0
            while slots:
                if slots & 1:
                    at = w.slot_start(bit)
                    if last is not None and at - last > limit:
                        out.append(Span(f"probe {p + 1} silent", last, at))
                    last = at
                slots >>= 1
                bit += 1
    return sorted(out, key=lambda s: s.start)


def _qualifies(w: Window, row: Row, probes: int) -> bool:
    values = [p.max_c for p in w.probes[:probes]]
    if len(values) < probes or any(v is None for v in values):
        return False
    return max(v for v in values if v is not None) <= row.max_pulp_c


def _runs(windows: list[Window], row: Row, probes: int, breaks: list[Span]) -> list[Run]:
    runs: list[Run] = []
    start: datetime | None = None
    end: datetime | None = None
    for w in windows:
        broken = any(b.start < w.end and b.end > w.start for b in breaks)
        if _qualifies(w, row, probes) and not broken:
            start = start or w.start
            end = w.end
            continue
        if start is not None and end is not None:
            runs.append(Run(row, start, end))
        start = end = None
        if broken and _qualifies(w, row, probes):
            # A break ends the count inside this window: count again from its end.
            start, end = w.end, w.end
    if start is not None and end is not None and end > start:
        runs.append(Run(row, start, end))
    return [r for r in runs if r.end > r.start]


def judge(windows: list[Window], schedule: Schedule, missing: list[Span]) -> Verdict:
    """The verdict of ``schedule`` over the treatment's windows (see the module docstring)."""
    treated = [w for w in windows if w.probes]
    probes = max((len(w.probes) for w in treated), default=0)
    if probes < schedule.min_probes:
        return Verdict(
            schedule,
            "failed",
            f"{probes} pulp probes; {schedule.name} needs at least "
            f"{schedule.min_probes} ({schedule.rules_source})",
        )
    limit = timedelta(seconds=schedule.max_reading_gap_s)
    silences = _silences(treated, probes, limit)
    unknown = [s for s in silences if any(m.start < s.end and m.end > s.start for m in missing)]
    invalid = [s for s in silences if s not in unknown]
    runs = {row: _runs(treated, row, probes, silences) for row in schedule.rows}
    passed = [r for rows in runs.values() for r in rows if r.complete]
    reasons = [
        f"{s.kind} from {s.start:%Y-%m-%d %H:%M} to {s.end:%Y-%m-%d %H:%M} UTC "
        f"({(s.end - s.start) / timedelta(minutes=1):.0f} min, over the "
        f"{schedule.max_reading_gap_s // 60} min allowed): the treatment was invalid, the count "
        "started again"
        for s in invalid
    ]
    reasons += _breaches(treated, schedule, probes)
    if passed:
        best = min(passed, key=lambda r: r.completed_at)
        return Verdict(
            schedule,
            "passed",
            f"pulp at or below {best.row.max_pulp_c:.2f} °C for {best.row.days} days "
            f"from {best.start:%Y-%m-%d %H:%M} UTC",
            best,
            reasons,
            silences,
        )
    longest = max(
        (r for rows in runs.values() for r in rows), key=lambda r: r.days / r.row.days, default=None
    )
    so_far = (
        f"longest count {longest.days:.2f} of {longest.row.days} days at or below "
        f"{longest.row.max_pulp_c:.2f} °C"
        if longest
        else "pulp never reached a schedule temperature on every probe"
    )
    if unknown:
        reasons.insert(
            0,
            "readings of "
            + ", ".join(f"{s.start:%Y-%m-%d %H:%M}-{s.end:%H:%M}" for s in unknown)
            + " UTC are not ashore yet (the vessel holds them)",
        )
        return Verdict(schedule, "incomplete", so_far, longest, reasons, silences)
    return Verdict(schedule, "failed", so_far, longest, reasons, silences)


def _breaches(windows: list[Window], schedule: Schedule, probes: int) -> list[str]:
    """Each stretch above the schedule's highest row, which restarts every count."""
    top = schedule.rows[-1]
    out: list[str] = []
    above: list[Window] = []
    for w in [*windows, None]:
        hot = w is not None and any(
            p.max_c is not None and p.max_c > top.max_pulp_c for p in w.probes[:probes]
        )
        if hot and w is not None:
            above.append(w)
            continue
        if above:
            peak = max(p.max_c or 0.0 for x in above for p in x.probes[:probes])
            out.append(
                f"pulp above {top.max_pulp_c:.2f} °C from {above[0].start:%Y-%m-%d %H:%M} to "
                f"{above[-1].end:%Y-%m-%d %H:%M} UTC (up to {peak:.2f} °C): every count "
                "started again"
            )
            above = []
    return out
