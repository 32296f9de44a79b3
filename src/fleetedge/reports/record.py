"""A container's record as the read model holds it: windows, alerts, commands, completeness.

Reports read through :class:`Rows` (the API's read model satisfies it), so this package needs
no database of its own and reads the same generation the dashboard shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from fleetedge.reports.exceptions import ReportTooLarge

MAX_WINDOWS = 40_000
"""Windows one report takes: a year of 15-minute windows (35,040) and some."""


class Rows(Protocol):
    """``rows(sql, params)`` over the read model, ``{table}`` names resolved (api.reader)."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Probe:
    """One pulp probe over one window: its highest value and the slots it reported in."""

    max_c: float | None
    slots: int


@dataclass(frozen=True)
class Window:
    seq: int
    start: datetime
    end: datetime
    readings: int
    first_seq: int
    last_seq: int
    setpoint_c: float
    supply_min_c: float
    supply_max_c: float
    supply_mean_c: float
    return_min_c: float
    return_max_c: float
    return_mean_c: float
    seconds: dict[str, int]
    """Seconds per condition: out_of_range, door_open, defrost, power_off."""
    slot_s: int
    masks: dict[str, int]
    """Slot masks per condition, and ``reading`` (every slot with a reading)."""
    probes: tuple[Probe, ...]
    treatment: bool
    resent: bool
    sent_at: datetime | None
    received_at: datetime | None

    @property
    def lag(self) -> timedelta | None:
        """How long after it was written aboard the shore took it in."""
        if self.sent_at is None or self.received_at is None:
            return None
        return self.received_at - self.sent_at

    def slot_start(self, bit: int) -> datetime:
        return self.start + timedelta(seconds=bit * self.slot_s)


@dataclass(frozen=True)
class Container:
    container_id: str
    vessel_id: str
    cargo: str
    setpoint_c: float | None


@dataclass(frozen=True)
class Happening:
    """An alert or a command on the container, as the report's table lists it."""

    kind: str
    start: datetime
    end: datetime | None
    detail: str


_CONDITIONS = ("out_of_range", "door_open", "defrost", "power_off")
_WINDOW = (
    "SELECT seq, window_start, window_end, readings, first_seq, last_seq, setpoint_c, "
    "supply_min_c, supply_max_c, supply_mean_c, return_min_c, return_max_c, return_mean_c, "
    "seconds_out_of_range, seconds_door_open, seconds_defrost, seconds_power_off, slot_s, "
    "out_of_range_slots, door_open_slots, defrost_slots, power_off_slots, reading_slots, pulp, "
    "treatment, resent, sent_at, received_at FROM {container_windows} "
)


def _window(r: tuple[Any, ...]) -> Window:
    pulp = json.loads(r[23]) if r[23] else []
    return Window(
        seq=r[0],
        start=when(r[1]),
        end=when(r[2]),
        readings=r[3],
        first_seq=r[4],
        last_seq=r[5],
        setpoint_c=r[6],
        supply_min_c=r[7],
        supply_max_c=r[8],
        supply_mean_c=r[9],
        return_min_c=r[10],
        return_max_c=r[11],
        return_mean_c=r[12],
        seconds=dict(
            zip(_CONDITIONS, (r[13] or 0, r[14] or 0, r[15] or 0, r[16] or 0), strict=True)
        ),
        slot_s=r[17] or 60,
        masks=dict(zip((*_CONDITIONS, "reading"), (x or 0 for x in r[18:23]), strict=True)),
        probes=tuple(Probe(m, s) for m, s in pulp),
        treatment=bool(r[24]),
        resent=bool(r[25]),
        sent_at=when(r[26]) if r[26] else None,
        received_at=when(r[27]) if r[27] else None,
    )


def container(db: Rows, container_id: str) -> Container | None:
    found = db.rows(
        "SELECT container_id, vessel_id, cargo, setpoint_c FROM {containers} "
        "WHERE container_id = ?",
        (container_id,),
    )
    return Container(*found[0]) if found else None


def span(db: Rows, container_id: str) -> tuple[datetime, datetime] | None:
    """The first window's start and the last one's end."""
    found = db.rows(
        "SELECT MIN(window_start), MAX(window_end) FROM {container_windows} WHERE container_id = ?",
        (container_id,),
    )
    if not found or found[0][0] is None:
        return None
    return when(found[0][0]), when(found[0][1])


def iso(t: datetime) -> str:
    """The read model's text form of an instant (pydantic's: ``...Z``)."""
    return t.isoformat().replace("+00:00", "Z")


def windows(db: Rows, container_id: str, start: datetime, end: datetime) -> list[Window]:
    """The windows that overlap [start, end), in time order; refused past MAX_WINDOWS."""
    bounds = (container_id, iso(end), iso(start))
    where = "WHERE container_id = ? AND window_start < ? AND window_end > ?"
    count = db.rows("SELECT COUNT(*) FROM {container_windows} " + where, bounds)[0][0]  # noqa: S608
    if count > MAX_WINDOWS:
        raise ReportTooLarge(
            "to",
            f"{count} windows from {iso(start)} to {iso(end)}; a report takes at most "
            f"{MAX_WINDOWS} (about a year of 15-minute windows): narrow from/to",
        )
    return [_window(r) for r in db.rows(_WINDOW + where + " ORDER BY seq", bounds)]


def reading_gaps(db: Rows, container_id: str) -> list[tuple[int, int]]:
    """The reading seqs the shore still lacks (completeness), as inclusive ranges."""
    found = db.rows("SELECT gaps FROM {completeness} WHERE container_id = ?", (container_id,))
    return [(lo, hi) for lo, hi in json.loads(found[0][0])] if found and found[0][0] else []


def happenings(db: Rows, container_id: str, start: datetime, end: datetime) -> list[Happening]:
    """The container's alerts and commands within [start, end)."""
    out: list[Happening] = []
    bounds = (container_id, iso(start), iso(end))
    for kind, severity, raised, cleared, summary in db.rows(
        "SELECT alert_kind, severity, raised_at, cleared_at, summary FROM {alerts} "
        "WHERE container_id = ? AND raised_at >= ? AND raised_at < ? ORDER BY raised_at",
        bounds,
    ):
        out.append(
            Happening(
                f"alert: {kind}",
                when(raised),
                when(cleared) if cleared else None,
                f"{severity}: {summary}",
            )
        )
    for command_id, action, params, requested in db.rows(
        "SELECT command_id, action, params, requested_at FROM {commands} "
        "WHERE container_id = ? AND requested_at >= ? AND requested_at < ? ORDER BY requested_at",
        bounds,
    ):
        steps = db.rows(
            "SELECT step, at FROM {command_steps} WHERE command_id = ? ORDER BY at",
            (command_id,),
        )
        path = " → ".join(s for s, _ in steps) or "requested"
        last = when(steps[-1][1]) if steps else None
        shown = "" if params in (None, "{}") else f" {params}"
        out.append(Happening(f"command: {action}", when(requested), last, f"{path}{shown}"))
    return sorted(out, key=lambda h: h.start)
