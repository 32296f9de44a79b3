"""The report for machines: JSON (everything) and CSV (one table: windows, events or gaps)."""

from __future__ import annotations

import csv
import io

from fleetedge.reports.exceptions import BadReportRequest
from fleetedge.reports.model import Report

TABLES = ("windows", "events", "gaps")


def to_json(report: Report) -> bytes:
    return report.model_dump_json(indent=2).encode()


def to_csv(report: Report, table: str = "windows") -> bytes:
    """One of the report's tables as CSV, UTC times in ISO 8601."""
    if table not in TABLES:
        raise BadReportRequest("table", f"unknown table {table!r} (known: {', '.join(TABLES)})")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if table == "windows":
        probes = max((len(p.pulp_max_c) for p in report.series), default=0)
        writer.writerow(
            [
                "container_id",
                "seq",
                "start",
                "end",
                "readings",
                "setpoint_c",
                "supply_mean_c",
                "return_mean_c",
                "return_min_c",
                "return_max_c",
                "out_of_range_minutes",
                *(f"pulp_{i + 1}_max_c" for i in range(probes)),
                "late",
                "backfilled",
                "sent_at",
                "received_at",
            ]
        )
        for p in report.series:
            pulp = [*p.pulp_max_c, *[None] * (probes - len(p.pulp_max_c))]
            writer.writerow(
                [
                    report.container_id,
                    p.seq,
                    p.start.isoformat(),
                    p.end.isoformat(),
                    p.readings,
                    p.setpoint_c,
                    p.supply_mean_c,
                    p.return_mean_c,
                    p.return_min_c,
                    p.return_max_c,
                    p.out_of_range_minutes,
                    *("" if v is None else v for v in pulp),
                    int(p.late),
                    int(p.backfilled),
                    p.sent_at.isoformat() if p.sent_at else "",
                    p.received_at.isoformat() if p.received_at else "",
                ]
            )
    else:
        writer.writerow(["container_id", "kind", "start", "end", "minutes", "detail"])
        for e in report.events if table == "events" else report.gaps:
            writer.writerow(
                [
                    report.container_id,
                    e.kind,
                    e.start.isoformat(),
                    e.end.isoformat() if e.end else "",
                    "" if e.minutes is None else e.minutes,
                    e.detail,
                ]
            )
    return out.getvalue().encode()
