"""Cold-treatment schedules, loaded as data (``schedules.json``, each with its source)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fleetedge.reports.exceptions import BadReportRequest


@dataclass(frozen=True)
class Row:
    """Pulp at or below ``max_pulp_c`` for ``days`` consecutive days."""

    max_pulp_c: float
    days: int


@dataclass(frozen=True)
class Schedule:
    name: str
    pest: str
    rows: tuple[Row, ...]
    source: str
    min_probes: int
    max_reading_gap_s: int
    rules_source: str


@cache
def schedules() -> dict[str, Schedule]:
    doc = json.loads(resources.files(__package__).joinpath("schedules.json").read_text())
    rules = doc["rules"]
    return {
        name: Schedule(
            name=name,
            pest=s["pest"],
            rows=tuple(
                sorted(
                    (Row(r["max_pulp_c"], r["days"]) for r in s["rows"]), key=lambda r: r.max_pulp_c
                )
            ),
            source=s["source"],
            min_probes=rules["min_probes"],
            max_reading_gap_s=rules["max_reading_gap_s"],
            rules_source=rules["source"],
        )
        for name, s in doc["schedules"].items()
    }


def schedule(name: str) -> Schedule:
    """The named schedule, or :class:`BadReportRequest` naming the ones known."""
    known = schedules()
    if name not in known:
        raise BadReportRequest("schedule", f"unknown schedule {name!r} (known: {', '.join(known)})")
    return known[name]
