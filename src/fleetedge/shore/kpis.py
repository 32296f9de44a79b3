"""The fleet KPIs record, shaped from the flat counters of :mod:`fleetedge.shore.tables`.

The analytics keep no fleet-wide state: each vessel's *partial* (its counters and how many
changes made them) is a row of a compacted table, and whoever reads the KPIs sums the rows
(:func:`combine`). A fleet of 400 vessels is 400 small rows to add; no partition and no worker
has to see every change of the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetedge.shore.tables import Delta


class FleetKpis(BaseModel):
    """The fleet after ``seq`` changes, as the API serves it (the sum of the vessels')."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1, description="changes applied so far; a later record supersedes")
    vessels: int
    containers: int
    containers_by_state: dict[str, int]
    containers_by_cargo: dict[str, int]
    open_alerts: dict[str, dict[str, int]] = Field(description="kind → severity → count")
    reefer_power_kw_by_vessel: dict[str, float]
    excursion_minutes_by_cargo: dict[str, float]
    vessels_by_link_state: dict[str, int]


def _group(totals: Delta, prefix: str) -> dict[str, int]:
    return {
        name.removeprefix(prefix): value
        for name, value in sorted(totals.items())
        if name.startswith(prefix) and value
    }


def partial(vessel: str, totals: Delta, seq: int) -> dict[str, Any]:
    """A vessel's partial: its counters after its ``seq``-th change (a record of the
    ``fleet.kpi-partials`` table, keyed by vessel; a later ``seq`` supersedes)."""
    return {"vessel_id": vessel, "seq": seq, "totals": totals}


def combine(partials: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The fleet KPIs from the latest partial of each vessel; ``seq`` is the number of changes
    over the whole fleet, the same for any number of workers."""
    totals: Delta = {}
    power: dict[str, int] = {}
    seq = 0
    for p in partials:
        for name, value in p["totals"].items():
            totals[name] = totals.get(name, 0) + value
        power[p["vessel_id"]] = p["totals"].get("power_ckw", 0)
        seq += p["seq"]
    return fleet_kpis({k: v for k, v in totals.items() if v}, power, seq=seq)


def fleet_kpis(totals: Delta, power_ckw: dict[str, int], *, seq: int) -> dict[str, Any]:
    """The KPIs record (JSON-able) from fleet-wide counters and each vessel's power; its shape
    is :class:`FleetKpis`, which the tests hold it to."""
    alerts: dict[str, dict[str, int]] = {}
    for name, count in _group(totals, "alerts/").items():
        kind, severity = name.split("/")
        alerts.setdefault(kind, {})[severity] = count
    return {
        "seq": seq,
        "vessels": len(power_ckw),
        "containers": totals.get("containers", 0),
        "containers_by_state": _group(totals, "state/"),
        "containers_by_cargo": _group(totals, "cargo/"),
        "open_alerts": alerts,
        "reefer_power_kw_by_vessel": {v: ckw / 100 for v, ckw in sorted(power_ckw.items())},
        "excursion_minutes_by_cargo": {
            cargo: seconds / 60 for cargo, seconds in _group(totals, "excursion_s/").items()
        },
        "vessels_by_link_state": _group(totals, "link/"),
    }
