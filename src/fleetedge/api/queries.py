"""The API's questions to the read model, each returning typed records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fleetedge.api.models import (
    Alert,
    CommandStep,
    CommandView,
    Completeness,
    Container,
    ContainerGaps,
    Kpis,
    LinkHealth,
    Vessel,
    Window,
)
from fleetedge.api.reader import ReadModel, Row
from fleetedge.commands.lifecycle import Step, current
from fleetedge.shore.kpis import combine

_VESSEL = (
    "SELECT vessel_id, lat, lon, status_time, containers_total, containers_ok, "
    "containers_alarm, containers_silent, reefer_power_kw, open_alerts, link_state, link_time, "
    "backlog_records, oldest_unmirrored_s, heartbeat_age_s, seconds_to_drain FROM {vessels}"
)
_CONTAINER = (
    "SELECT container_id, vessel_id, cargo, state, window_end, setpoint_c, supply_mean_c, "
    "return_mean_c, mean_power_kw FROM {containers}"
)
_ALERT = (
    "SELECT alert_id, vessel_id, container_id, bay, alert_kind, severity, state, raised_at, "
    "cleared_at, summary FROM {alerts}"
)


def _vessel(r: Row) -> Vessel:
    return Vessel(
        vessel_id=r[0], lat=r[1], lon=r[2], status_time=r[3], containers_total=r[4],
        containers_ok=r[5], containers_alarm=r[6], containers_silent=r[7],
        reefer_power_kw=r[8], open_alerts=r[9],
        link=LinkHealth(
            state=r[10], reported_at=r[11], backlog_records=r[12], oldest_unmirrored_s=r[13],
            heartbeat_age_s=r[14], seconds_to_drain=r[15],
        ),
    )  # fmt: skip


def vessels(db: ReadModel) -> list[Vessel]:
    return [_vessel(r) for r in db.rows(_VESSEL + " ORDER BY vessel_id")]


def vessel(db: ReadModel, vessel_id: str) -> Vessel | None:
    found = db.rows(_VESSEL + " WHERE vessel_id = ?", (vessel_id,))
    return _vessel(found[0]) if found else None


def _container(r: Row) -> Container:
    return Container(
        container_id=r[0], vessel_id=r[1], cargo=r[2], state=r[3], window_end=r[4],
        setpoint_c=r[5], supply_mean_c=r[6], return_mean_c=r[7], mean_power_kw=r[8],
    )  # fmt: skip


def containers(db: ReadModel, vessel_id: str) -> list[Container]:
    found = db.rows(_CONTAINER + " WHERE vessel_id = ? ORDER BY container_id", (vessel_id,))
    return [_container(r) for r in found]


def container(db: ReadModel, container_id: str) -> Container | None:
    found = db.rows(_CONTAINER + " WHERE container_id = ?", (container_id,))
    return _container(found[0]) if found else None


def history(db: ReadModel, container_id: str, limit: int) -> list[Window]:
    found = db.rows(
        "SELECT seq, window_start, window_end, readings, setpoint_c, supply_min_c, supply_max_c, "
        "supply_mean_c, return_mean_c, mean_power_kw, seconds_out_of_range, seconds_power_off, "
        "first_seq, last_seq "
        "FROM {container_windows} WHERE container_id = ? ORDER BY window_start DESC, seq DESC "
        "LIMIT ?",
        (container_id, limit),
    )
    return [
        Window(
            seq=r[0],
            window_start=r[1],
            window_end=r[2],
            readings=r[3],
            setpoint_c=r[4],
            supply_min_c=r[5],
            supply_max_c=r[6],
            supply_mean_c=r[7],
            return_mean_c=r[8],
            mean_power_kw=r[9],
            seconds_out_of_range=r[10],
            seconds_power_off=r[11],
            first_seq=r[12],
            last_seq=r[13],
        )
        for r in reversed(found)
    ]


def alerts(db: ReadModel, *, vessel_id: str | None, state: str | None, limit: int) -> list[Alert]:
    where, params = [], []
    if vessel_id is not None:
        where.append("vessel_id = ?")
        params.append(vessel_id)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    found = db.rows(
        _ALERT + clause + " ORDER BY raised_at DESC, alert_id LIMIT ?", (*params, limit)
    )
    return [
        Alert(
            alert_id=r[0],
            vessel_id=r[1],
            container_id=r[2],
            bay=r[3],
            kind=r[4],
            severity=r[5],
            state=r[6],
            raised_at=r[7],
            cleared_at=r[8],
            summary=r[9],
        )
        for r in found
    ]


def kpis(db: ReadModel) -> Kpis:
    """The fleet KPIs: the sum of every vessel's partial (one row each)."""
    found = db.rows("SELECT doc FROM {fleet_kpis} ORDER BY name")
    if not found:
        return Kpis(seq=0, kpis={})
    doc = combine(json.loads(r[0]) for r in found)
    return Kpis(seq=doc["seq"], kpis=doc)


def completeness(db: ReadModel, vessel_id: str | None, limit: int) -> Completeness:
    clause, params = (" WHERE vessel_id = ?", (vessel_id,)) if vessel_id else ("", ())
    found = db.rows(
        "SELECT container_id, vessel_id, received, windows, gaps, gap_count FROM {completeness}"
        + clause
        + " ORDER BY container_id",
        params,
    )
    holed = []
    for r in found:
        gaps = [(int(a), int(b)) for a, b in json.loads(r[4])]
        if gaps:
            holed.append(
                ContainerGaps(
                    container_id=r[0],
                    vessel_id=r[1],
                    missing=sum(b - a + 1 for a, b in gaps),
                    gaps=gaps,
                )
            )
    return Completeness(
        containers=len(found),
        readings=sum(int(r[2]) for r in found),
        windows=sum(int(r[3]) for r in found),
        containers_with_gaps=len(holed),
        missing=sum(c.missing for c in holed),
        gaps=holed[:limit],
    )


def version(db: ReadModel) -> tuple[int | None, int]:
    """Changes whenever the read model does: the generation and the sum of its offsets."""
    found = db.rows("SELECT COALESCE(SUM(next_offset), 0) FROM {offsets}")
    return db.generation(), int(found[0][0]) if found else 0


def _in_order(item: tuple[Step, tuple[str, str | None]]) -> tuple[int, str]:
    """Steps in lifecycle order (clocks aboard and ashore may disagree), then by time."""
    return item[0].rank, item[1][0]


_COMMAND = (
    "SELECT command_id, vessel_id, container_id, action, params, issued_by, requested_at, "
    "expires_at FROM {commands}"
)


def commands(
    db: ReadModel, *, vessel_id: str | None, container_id: str | None, limit: int
) -> list[CommandView]:
    """The newest commands first, each with its steps and its current status."""
    where, params = [], []
    if vessel_id is not None:
        where.append("vessel_id = ?")
        params.append(vessel_id)
    if container_id is not None:
        where.append("container_id = ?")
        params.append(container_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    found = db.rows(
        f"{_COMMAND}{clause} ORDER BY requested_at DESC, command_id LIMIT ?", (*params, limit)
    )
    if not found:
        return []
    ids = [r[0] for r in found]
    marks = ", ".join("?" * len(ids))
    steps: dict[str, dict[Step, tuple[str, str | None]]] = {i: {} for i in ids}
    for command_id, step, at, reason in db.rows(
        f"SELECT command_id, step, at, reason FROM {{command_steps}} WHERE command_id IN ({marks})",
        tuple(ids),
    ):
        steps[command_id][Step(step)] = (at, reason)
    now = datetime.now(UTC)
    out = []
    for r in found:
        reached = steps[r[0]]
        times = {s: datetime.fromisoformat(at) for s, (at, _) in reached.items()}
        status = current(times, datetime.fromisoformat(r[7]), now)
        out.append(
            CommandView(
                command_id=r[0], vessel_id=r[1], container_id=r[2], action=r[3],
                params=json.loads(r[4]), issued_by=r[5], requested_at=r[6], expires_at=r[7],
                status=status.value,
                steps=[
                    CommandStep(step=s.value, at=at, reason=reason)
                    for s, (at, reason) in sorted(reached.items(), key=_in_order)
                ],
            )
        )  # fmt: skip
    return out
