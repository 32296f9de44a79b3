"""The API's compliance reports: one container's report (PDF, CSV or JSON), and the summary of
the containers that broke their range or their schedule. Reads, open to every role.

A wrong field is a 422 whose ``loc`` names it (``from``, ``to``, ``schedule``, ``table``); a
container without a record ashore is a 404; a range too large for one report is a 422 that
says how to narrow it.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError

from fleetedge.api.params import VesselId
from fleetedge.api.reader import ReadModel
from fleetedge.reports import container_report, summary, to_csv, to_json, to_pdf
from fleetedge.reports.exceptions import BadReportRequest, UnknownContainer
from fleetedge.reports.model import Summary
from fleetedge.reports.schedules import schedules

From = Annotated[datetime | None, Query(alias="from", description="UTC start, ISO 8601")]
To = Annotated[datetime | None, Query(alias="to", description="UTC end, ISO 8601")]
ScheduleName = Annotated[
    str | None,
    Query(pattern=f"^({'|'.join(schedules())})$", description="cold-treatment schedule"),
]
_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json"}


def _refused(exc: BadReportRequest) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", exc.field), "msg": exc.message, "type": "value_error"}]
    )


def report_routes(reader: ReadModel) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/api/containers/{container_id}/report",
        tags=["reports"],
        response_class=Response,
        responses={
            200: {"content": {t: {} for t in _TYPES.values()}},
            404: {"description": "no record of the container ashore"},
            422: {"description": "a field is wrong, or the range is too large"},
        },
    )
    def container_report_route(
        container_id: str,
        *,
        start: From = None,
        end: To = None,
        schedule: ScheduleName = None,
        format: Literal["pdf", "csv", "json"] = "json",  # noqa: A002 - the query's name
        table: Annotated[str, Query(max_length=16)] = "windows",
        late_after_s: Annotated[int, Query(ge=0, le=7 * 86400)] = 120,
    ) -> Response:
        """The container's cold-chain report: chart, events, time in range, gaps with their
        causes, and a verdict when a schedule is named. ``table`` picks the CSV's table."""
        try:
            report = container_report(
                reader,
                container_id,
                start=start,
                end=end,
                schedule_name=schedule,
                late_after=timedelta(seconds=late_after_s),
            )
            body = (
                to_pdf(report)
                if format == "pdf"
                else to_csv(report, table)
                if format == "csv"
                else to_json(report)
            )
        except UnknownContainer as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from exc
        except BadReportRequest as exc:
            raise _refused(exc) from exc
        name = f"report-{container_id}" + (f"-{table}" if format == "csv" else "")
        return Response(
            body,
            media_type=_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
        )

    @router.get(
        "/api/reports/summary",
        tags=["reports"],
        response_model=Summary,
        responses={
            200: {"content": {"text/html": {}, "application/json": {}}},
            422: {"description": "a field is wrong"},
        },
    )
    def fleet_summary(
        *,
        vessel: VesselId | None = None,
        start: From = None,
        end: To = None,
        schedule: ScheduleName = None,
        format: Literal["json", "html"] = "json",  # noqa: A002 - the query's name
    ) -> Response:
        """The containers of a vessel, or of the fleet, that were out of range or failed the
        schedule in the time range, each with the link to its report."""
        try:
            found = summary(reader, vessel_id=vessel, start=start, end=end, schedule_name=schedule)
        except BadReportRequest as exc:
            raise _refused(exc) from exc
        if format == "json":
            return Response(found.model_dump_json(), media_type="application/json")
        return Response(summary_html(found), media_type="text/html; charset=utf-8")

    return router


def summary_html(found: Summary) -> str:
    """The summary as a small HTML page: a table whose rows link to the reports."""
    rows = "".join(
        f"<tr><td><a href='{html.escape(r.report)}'>{html.escape(r.container_id)}</a></td>"
        f"<td>{html.escape(r.vessel_id)}</td><td>{html.escape(r.cargo)}</td>"
        f"<td>{r.out_of_range_minutes:g}</td><td>{r.excursions}</td>"
        f"<td>{html.escape(r.verdict or '')}</td></tr>"
        for r in found.broke
    )
    scope = html.escape(found.vessel_id or "the fleet")
    return (
        "<!doctype html><meta charset='utf-8'><title>FleetEdge: containers that broke their "
        f"range</title><h1>Containers of {scope} that broke their range or schedule</h1>"
        f"<p>{len(found.broke)} of {found.containers_checked} containers.</p>"
        "<table><thead><tr><th>container</th><th>vessel</th><th>cargo</th>"
        "<th>minutes out of range</th><th>excursions</th><th>verdict</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
