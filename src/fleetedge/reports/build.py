"""Build a container's report, or a fleet summary, from the read model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleetedge.reports import record, timeline
from fleetedge.reports.exceptions import BadReportRequest, UnknownContainer
from fleetedge.reports.model import (
    Entry,
    Point,
    Report,
    Summary,
    SummaryRow,
    TimeInRange,
    VerdictView,
)
from fleetedge.reports.schedules import Schedule, schedule
from fleetedge.reports.verdict import Verdict, judge

LATE_AFTER = timedelta(minutes=2)
"""A window that reached the shore later than this after the vessel wrote it arrived late."""


def _range(
    db: record.Rows, container_id: str, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    for name, t in (("from", start), ("to", end)):
        if t is not None and t.tzinfo is None:
            raise BadReportRequest(name, f"{name} must carry a time zone (e.g. ...Z)")
    if start is not None and end is not None and start >= end:
        raise BadReportRequest(
            "to", f"to ({end.isoformat()}) is not after from ({start.isoformat()})"
        )
    held = record.span(db, container_id)
    if held is None:
        raise UnknownContainer(f"no record of container {container_id} ashore")
    return _utc("from", start or held[0]), _utc("to", end or held[1])


def _utc(name: str, t: datetime) -> datetime:
    try:
        return t.astimezone(UTC)
    except OverflowError as exc:
        raise BadReportRequest(name, f"{name} is out of range: {t.isoformat()}") from exc


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def _entry(span: timeline.Span) -> Entry:
    detail = span.detail if span.placed else f"{span.detail} (placed at its window's start)"
    return Entry(
        kind=span.kind,
        start=span.start,
        end=span.end,
        minutes=_minutes(span.seconds),
        detail=detail.strip(),
    )


def _view(v: Verdict) -> VerdictView:
    run = v.run
    return VerdictView(
        schedule=v.schedule.name,
        pest=v.schedule.pest,
        status=v.status,
        summary=v.summary,
        row_max_pulp_c=run.row.max_pulp_c if run else None,
        row_days=run.row.days if run else None,
        count_start=run.start if run else None,
        count_end=(run.completed_at if run.complete else run.end) if run else None,
        days_counted=round(min(run.days, run.row.days), 2) if run else None,
        first_day=v.first_day,
        last_day=v.last_day,
        reasons=v.reasons,
        source=f"{v.schedule.source}; rules: {v.schedule.rules_source}",
    )


def container_report(
    db: record.Rows,
    container_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    schedule_name: str | None = None,
    late_after: timedelta = LATE_AFTER,
) -> Report:
    """The report of one container over [start, end) (default: its whole record ashore)."""
    chosen: Schedule | None = schedule(schedule_name) if schedule_name else None
    if late_after < timedelta(0):
        raise BadReportRequest("late_after", "late_after must not be negative")
    box = record.container(db, container_id)
    lo, hi = _range(db, container_id, start, end)
    if box is None:
        raise UnknownContainer(f"no record of container {container_id} ashore")
    windows = record.windows(db, container_id, lo, hi)
    missing = record.reading_gaps(db, container_id)
    gaps = timeline.gaps(windows, missing, late_after)
    events = [_entry(s) for s in timeline.episodes(windows)]
    events += [
        Entry(
            kind=h.kind,
            start=h.start,
            end=h.end,
            minutes=_minutes((h.end - h.start).total_seconds()) if h.end else None,
            detail=h.detail,
        )
        for h in record.happenings(db, container_id, lo, hi)
    ]
    held = timeline.in_range(windows)
    verdict = None
    if chosen is not None:
        verdict = _view(judge(windows, chosen, [g for g in gaps if g.kind == "missing"]))
    return Report(
        container_id=container_id,
        vessel_id=box.vessel_id,
        cargo=box.cargo,
        start=lo,
        end=hi,
        windows=len(windows),
        readings=sum(w.readings for w in windows),
        time_in_range=TimeInRange(
            recorded_minutes=_minutes(held.recorded_s),
            in_range_minutes=_minutes(held.in_range_s),
            out_of_range_minutes=_minutes(held.out_of_range_s),
            percent_in_range=held.percent,
        ),
        events=sorted(events, key=lambda e: (e.start, e.kind)),
        gaps=[_entry(g) for g in gaps],
        verdict=verdict,
        series=[_point(w, late_after) for w in windows],
        late_after_s=int(late_after.total_seconds()),
    )


def _point(w: record.Window, late_after: timedelta) -> Point:
    oor = (
        bin(w.masks["out_of_range"]).count("1") * w.slot_s
        if w.masks["reading"]
        else w.seconds["out_of_range"]
    )
    return Point(
        seq=w.seq,
        start=w.start,
        end=w.end,
        readings=w.readings,
        setpoint_c=w.setpoint_c,
        supply_mean_c=w.supply_mean_c,
        return_mean_c=w.return_mean_c,
        return_min_c=w.return_min_c,
        return_max_c=w.return_max_c,
        out_of_range_minutes=_minutes(oor),
        pulp_max_c=[p.max_c for p in w.probes],
        late=w.lag is not None and w.lag > late_after,
        backfilled=w.resent,
        sent_at=w.sent_at,
        received_at=w.received_at,
    )


_SUMMARY = (
    "SELECT c.container_id, c.vessel_id, c.cargo, SUM(w.seconds_out_of_range), "
    "MAX(w.treatment) FROM {containers} c JOIN {container_windows} w "
    "ON w.container_id = c.container_id WHERE <where> "
    "GROUP BY c.container_id, c.vessel_id, c.cargo ORDER BY c.container_id"
)


def summary(
    db: record.Rows,
    *,
    vessel_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    schedule_name: str | None = None,
) -> Summary:
    """The containers (of a vessel, or of the fleet) that broke their range, or the schedule
    (cold-treated cargo only), within [start, end)."""
    chosen = schedule(schedule_name) if schedule_name else None
    if start is not None and end is not None and start >= end:
        raise BadReportRequest("to", "to is not after from")
    where, params = ["1 = 1"], []
    if vessel_id is not None:
        where.append("c.vessel_id = ?")
        params.append(vessel_id)
    if start is not None:
        where.append("w.window_end > ?")
        params.append(record.iso(start))
    if end is not None:
        where.append("w.window_start < ?")
        params.append(record.iso(end))
    clause = " AND ".join(where)  # fixed text; the values are parameters
    rows = db.rows(_SUMMARY.replace("<where>", clause), params)
    broke: list[SummaryRow] = []
    for container_id, vessel, cargo, oor, treated in rows:
        status = None
        excursions = 0
        if oor or (chosen is not None and treated):
            # Only what the row shows: the excursions, and the verdict of a treated box.
            lo, hi = _range(db, container_id, start, end)
            windows = record.windows(db, container_id, lo, hi)
            excursions = len(timeline.episodes(windows, ("out_of_range",)))
            if chosen is not None and treated:
                missing = record.reading_gaps(db, container_id)
                gaps = [g for g in timeline.gaps(windows, missing, LATE_AFTER)
                        if g.kind == "missing"]  # fmt: skip
                status = judge(windows, chosen, gaps).status
        if not oor and status in (None, "passed"):
            continue
        link = f"/api/containers/{container_id}/report?format=pdf"
        if schedule_name and treated:
            link += f"&schedule={schedule_name}"
        broke.append(
            SummaryRow(
                container_id=container_id,
                vessel_id=vessel,
                cargo=cargo,
                out_of_range_minutes=_minutes(oor or 0),
                excursions=excursions,
                verdict=status,
                report=link,
            )
        )
    return Summary(
        vessel_id=vessel_id,
        start=start,
        end=end,
        schedule=schedule_name,
        containers_checked=len(rows),
        broke=broke,
    )
