"""``fleet report``: a container's cold-chain report, or the fleet's summary, from the API.

Through the running fleet's API (:mod:`fleetedge.cli._api`), so a report reads the same read
model as the dashboard's and refuses the same bad fields.
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fleetedge.cli._api import call, fetch
from fleetedge.cli._common import console, fails_cleanly, out

app = typer.Typer(help="Cold-chain compliance reports: one container's, or the fleet summary.")
FORMATS = ("pdf", "csv", "json")


def _query(**params: str | None) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


@app.command("container")
@fails_cleanly
def container(
    container_id: Annotated[str, typer.Argument(help="the container's id")],
    start: Annotated[str | None, typer.Option("--from", help="UTC, ISO 8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="UTC, ISO 8601")] = None,
    schedule: Annotated[str | None, typer.Option(help="cold treatment, e.g. T107-a")] = None,
    format: Annotated[str, typer.Option(help="pdf, csv or json")] = "pdf",  # noqa: A002
    table: Annotated[str, typer.Option(help="the CSV's table: windows, events, gaps")] = "windows",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write; '-' for stdout")
    ] = None,
) -> None:
    """Write the container's report (default: report-ID.FORMAT in this directory)."""
    if format not in FORMATS:
        raise typer.BadParameter(f"format must be one of {', '.join(FORMATS)}")
    query = _query(
        **{
            "from": start,
            "to": end,
            "schedule": schedule,
            "format": format,
            "table": table if format == "csv" else None,
        }
    )
    body = fetch(f"/api/containers/{urllib.parse.quote(container_id)}/report?{query}", timeout=300)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(body)
        return
    path = output or Path(f"report-{container_id}.{format}")
    path.write_bytes(body)
    out.print(f"wrote {path} ({len(body):,} bytes)")


@app.command("summary")
@fails_cleanly
def fleet_summary(
    vessel: Annotated[str | None, typer.Option(help="one vessel's containers")] = None,
    start: Annotated[str | None, typer.Option("--from", help="UTC, ISO 8601")] = None,
    end: Annotated[str | None, typer.Option("--to", help="UTC, ISO 8601")] = None,
    schedule: Annotated[str | None, typer.Option(help="cold treatment, e.g. T107-a")] = None,
) -> None:
    """The containers that broke their range or their schedule, with their reports' links."""
    found = call(
        "/api/reports/summary?"
        + _query(vessel=vessel, schedule=schedule, **{"from": start, "to": end})
    )
    table = Table("container", "vessel", "cargo", "min out of range", "excursions", "verdict")
    for r in found["broke"]:
        table.add_row(
            r["container_id"],
            r["vessel_id"],
            r["cargo"],
            f"{r['out_of_range_minutes']:g}",
            str(r["excursions"]),
            r["verdict"] or "",
        )
    if console.is_terminal:
        console.print(table)
    else:
        for r in found["broke"]:
            out.print(
                f"{r['container_id']} {r['vessel_id']} {r['cargo']} "
                f"{r['out_of_range_minutes']:g} {r['excursions']} {r['verdict'] or '-'} "
                f"{r['report']}"
            )
    out.print(
        f"{len(found['broke'])} of {found['containers_checked']} containers broke their "
        "range or schedule"
    )
