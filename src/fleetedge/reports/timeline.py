"""What happened to a container, placed in time from its windows alone.

A window carries, per condition, a mask with one bit per slot (``slot_s`` seconds, the reading
interval) in which a reading showed it. A set bit stands for its slot, ``[start, start +
slot_s)``: a reading stands for the interval that starts at it, as the edge counts time. A
recorder that stamps at exact intervals (on the minute) is placed exactly; readings between
slot boundaries are placed at the start of their slot. Runs of
set bits, joined across windows that follow each other, are the episodes. A window of the
first contract version has no masks: its seconds are placed at its start (``placed`` false).

Gaps are periods the shore's record lacks or got late, each with its cause:

- ``arrived late``: the windows reached the shore more than ``late_after`` after the vessel
  wrote them (a link outage; the vessel recorded them on time);
- ``backfilled``: windows the vessel rebuilt on the shore's request from its retained readings;
- ``missing``: readings the vessel took that the shore still lacks (its completeness gaps);
- ``not recorded``: no reading at all in the period (no window, and no reading seq skipped).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetedge.reports.record import Window

CONDITIONS = {
    "out_of_range": "excursion",
    "defrost": "defrost",
    "power_off": "power off",
    "door_open": "door open",
}


@dataclass(frozen=True)
class Span:
    """A period of the record, with what it is and a word about it."""

    kind: str
    start: datetime
    end: datetime
    detail: str = ""
    placed: bool = True

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def _slots(w: Window, mask: int) -> Iterator[tuple[datetime, datetime]]:
    bit = 0
    while mask:
        if mask & 1:
            begin = w.slot_start(bit)
            yield begin, min(begin + timedelta(seconds=w.slot_s), w.end)
        mask >>= 1
        bit += 1


def _periods(w: Window, condition: str) -> Iterator[tuple[datetime, datetime, bool]]:
    mask = w.masks[condition]
    if mask:
        for begin, end in _slots(w, mask):
            yield begin, end, True
    elif w.seconds[condition]:
        yield w.start, w.start + timedelta(seconds=w.seconds[condition]), False


def _joined(periods: Iterator[tuple[datetime, datetime, bool]]) -> list[list[object]]:
    runs: list[list[object]] = []
    for begin, end, placed in periods:
        if runs and runs[-1][1] == begin:
            runs[-1][1] = end
            runs[-1][2] = bool(runs[-1][2]) and placed
        else:
            runs.append([begin, end, placed])
    return runs


def episodes(windows: list[Window], conditions: tuple[str, ...] = tuple(CONDITIONS)) -> list[Span]:
    """Excursions, defrosts, power-off periods and door openings, in time order."""
    out: list[Span] = []
    for condition in conditions:
        kind = CONDITIONS[condition]
        runs = _joined(p for w in windows for p in _periods(w, condition))
        for begin, end, placed in runs:
            assert isinstance(begin, datetime)  # noqa: S101 - narrows the run's types
            assert isinstance(end, datetime)  # noqa: S101
            detail = ""
            if condition == "out_of_range":
                detail = _peak(windows, begin, end)
            out.append(Span(kind, begin, end, detail, bool(placed)))
    return sorted(out, key=lambda s: (s.start, s.kind))


def _peak(windows: list[Window], begin: datetime, end: datetime) -> str:
    inside = [w for w in windows if w.start < end and w.end > begin]
    if not inside:
        return ""

    def off(w: Window) -> float:
        return max(w.return_max_c - w.setpoint_c, w.setpoint_c - w.return_min_c)

    # By the deviation alone: two windows as far off (a reefer without power, say) are a tie,
    # and windows have no order of their own.
    worst = max(inside, key=off)
    return f"return air up to {off(worst):+.2f} °C off the {worst.setpoint_c:.2f} °C setpoint"


@dataclass(frozen=True)
class InRange:
    recorded_s: int
    out_of_range_s: int

    @property
    def in_range_s(self) -> int:
        return self.recorded_s - self.out_of_range_s

    @property
    def percent(self) -> float | None:
        return round(100 * self.in_range_s / self.recorded_s, 2) if self.recorded_s else None


def in_range(windows: list[Window]) -> InRange:
    """Time covered by readings, and the part of it out of range (defrost is not)."""
    recorded = out = 0
    for w in windows:
        if w.masks["reading"]:
            recorded += bin(w.masks["reading"]).count("1") * w.slot_s
            out += bin(w.masks["out_of_range"]).count("1") * w.slot_s
        else:
            recorded += w.readings * w.slot_s
            out += w.seconds["out_of_range"]
    return InRange(recorded, out)


def _flagged(windows: list[Window], kind: str, test: object) -> list[Span]:
    spans: list[Span] = []
    held: list[Window] = []
    for w in [*windows, None]:
        if w is not None and callable(test) and test(w):
            if held and w.seq != held[-1].seq + 1:
                spans.append(_span_of(kind, held))
                held = []
            held.append(w)
        elif held:
            spans.append(_span_of(kind, held))
            held = []
    return spans


def _span_of(kind: str, held: list[Window]) -> Span:
    detail = ""
    if kind == "arrived late":
        lags = [w.lag for w in held if w.lag is not None]
        worst = max(lags) if lags else timedelta(0)
        last = max((w.received_at for w in held if w.received_at), default=None)
        detail = f"recorded aboard on time; reached shore up to {_duration(worst)} later"
        if last is not None:
            detail += f" (last at {last:%Y-%m-%d %H:%M:%S} UTC)"
    elif kind == "backfilled":
        detail = f"{len(held)} windows rebuilt aboard from retained readings, on request"
    return Span(kind, held[0].start, held[-1].end, detail)


def _duration(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s / 3600:.1f} h"


def gaps(
    windows: list[Window], missing: list[tuple[int, int]], late_after: timedelta
) -> list[Span]:
    """The record's gaps with their causes (see the module docstring), in time order."""
    out = _flagged(windows, "arrived late", lambda w: w.lag is not None and w.lag > late_after)
    out += _flagged(windows, "backfilled", lambda w: w.resent)
    for prev, cur in itertools.pairwise(windows):
        if cur.first_seq > prev.last_seq + 1:
            lo, hi = prev.last_seq + 1, cur.first_seq - 1
            out.append(
                Span(
                    "missing",
                    prev.end,
                    cur.start,
                    f"readings {lo}-{hi} taken aboard have not reached the shore",
                )
            )
        elif cur.seq > prev.seq + 1:
            out.append(Span("not recorded", prev.end, cur.start, "no reading taken aboard"))
    for w in windows:  # readings missing inside a window
        holes = [(lo, hi) for lo, hi in missing if w.first_seq < lo and hi < w.last_seq]
        for lo, hi in holes:
            out.append(
                Span(
                    "missing",
                    w.start,
                    w.end,
                    f"readings {lo}-{hi} taken aboard have not reached the shore",
                )
            )
    return sorted(out, key=lambda s: (s.start, s.kind))
