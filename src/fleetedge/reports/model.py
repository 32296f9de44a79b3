"""A report as data: what the JSON and CSV give machines and the PDF prints for people."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Entry(_Model):
    """A row of the events table or of the gaps table."""

    kind: str
    start: datetime
    end: datetime | None
    minutes: float | None
    detail: str


class TimeInRange(_Model):
    recorded_minutes: float
    in_range_minutes: float
    out_of_range_minutes: float
    percent_in_range: float | None


class VerdictView(_Model):
    schedule: str
    pest: str
    status: str
    summary: str
    row_max_pulp_c: float | None
    row_days: int | None
    count_start: datetime | None
    count_end: datetime | None
    days_counted: float | None
    first_day: str | None
    last_day: str | None
    reasons: list[str]
    source: str


class Point(_Model):
    """One window of the chart and of the CSV."""

    seq: int
    start: datetime
    end: datetime
    readings: int
    setpoint_c: float
    supply_mean_c: float
    return_mean_c: float
    return_min_c: float
    return_max_c: float
    out_of_range_minutes: float
    pulp_max_c: list[float | None]
    late: bool
    backfilled: bool
    sent_at: datetime | None
    received_at: datetime | None


class Report(_Model):
    container_id: str
    vessel_id: str
    cargo: str
    start: datetime
    end: datetime
    windows: int
    readings: int
    time_in_range: TimeInRange
    events: list[Entry]
    gaps: list[Entry]
    verdict: VerdictView | None
    series: list[Point]
    late_after_s: int


class SummaryRow(_Model):
    container_id: str
    vessel_id: str
    cargo: str
    out_of_range_minutes: float
    excursions: int
    verdict: str | None
    report: str


class Summary(_Model):
    vessel_id: str | None
    start: datetime | None
    end: datetime | None
    schedule: str | None
    containers_checked: int
    broke: list[SummaryRow]
