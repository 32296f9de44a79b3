"""``fleet command``: order a reefer through the fleet's API, and follow the orders.

Both go through the running fleet's API (:mod:`fleetedge.cli._api`), so the CLI gets the
same checks, rate limit and audit as the dashboard.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated

import typer
from rich.table import Table

from fleetedge.cli._api import call
from fleetedge.cli._common import console, fails_cleanly, out
from fleetedge.devices.faults import parse_duration

app = typer.Typer(help="Send reefer commands (setpoint, defrost, PTI) and follow them.")
ACTIONS = {"set-setpoint": "set_setpoint", "defrost": "defrost", "pti": "pre_trip_inspection"}


@app.command("send")
@fails_cleanly
def send(
    vessel: Annotated[str, typer.Argument(help="e.g. vessel-1")],
    container: Annotated[str, typer.Argument(help="the reefer's container id")],
    action: Annotated[str, typer.Argument(help="set-setpoint, defrost or pti")],
    setpoint: Annotated[float | None, typer.Option(help="°C, for set-setpoint")] = None,
    ttl: Annotated[str, typer.Option(help="expiry, from now, e.g. 6h or 30m")] = "6h",
) -> None:
    """Send a command; prints its id and expiry (`fleet command list` follows it)."""
    if action not in ACTIONS:
        raise typer.BadParameter(f"action must be one of {', '.join(ACTIONS)}")
    body = {
        "vessel": vessel,
        "container_id": container,
        "action": ACTIONS[action],
        "setpoint_c": setpoint,
        "ttl_s": int(parse_duration(ttl).total_seconds()),
    }
    sent = call("/api/commands", body)
    out.print(f"{sent['command_id']} {sent['status']} (expires {sent['expires_at']})")


@app.command("list")
@fails_cleanly
def list_commands(
    vessel: Annotated[str | None, typer.Option(help="only this vessel's")] = None,
    container: Annotated[str | None, typer.Option(help="only this container's")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Commands, newest first, with each step of their lifecycle and its time."""
    params: dict[str, str | int] = {"limit": limit}
    if vessel:
        params["vessel"] = vessel
    if container:
        params["container"] = container
    found = call("/api/commands?" + urllib.parse.urlencode(params))
    table = Table("command", "container", "action", "status", "steps")
    for c in found:
        steps = ", ".join(
            f"{s['step']} {s['at'][11:19]}" + (f" ({s['reason']})" if s["reason"] else "")
            for s in c["steps"]
        )
        action = c["action"] + (f" {c['params']['setpoint_c']:g} °C" if c["params"] else "")
        table.add_row(c["command_id"][:8], c["container_id"], action, c["status"], steps)
    if console.is_terminal:
        console.print(table)
    for c in found if not console.is_terminal else ():
        steps = " ".join(f"{s['step']}@{s['at']}" for s in c["steps"])
        out.print(f"{c['command_id']} {c['container_id']} {c['action']} {c['status']} {steps}")
