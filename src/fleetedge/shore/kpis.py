"""The fleet KPIs record, shaped from the flat counters of :mod:`fleetedge.shore.tables`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleetedge.shore.tables import Delta


class FleetKpis(BaseModel):
    """The fleet after ``seq`` changes; what ``fleet.kpis`` carries and the projector stores."""

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


def fleet_kpis(totals: Delta, power_ckw: dict[str, int], *, seq: int) -> dict[str, Any]:
    """The KPIs record (JSON-able) from fleet-wide counters and each vessel's power.

    Built as a plain dict on the hot path (stage 3 runs it for every change); its shape is
    :class:`FleetKpis`, which the tests hold it to.
    """
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
