"""The ``fleet`` command."""

from __future__ import annotations

import faulthandler
import signal
import sys
from typing import Annotated

import typer

from fleetedge import logs
from fleetedge.cli import (
    api_cmd,
    chaos_cmd,
    cluster_cmd,
    command_cmd,
    demo_cmd,
    deploy_cmd,
    edge_cmd,
    events_cmd,
    fleet_cmd,
    ingest_cmd,
    link_cmd,
    logs_cmd,
    replay_cmd,
    report_cmd,
    runtime_cmd,
    security_cmd,
    shore_cmd,
    simulate_cmd,
    vessel_cmd,
)
from fleetedge.cli._common import settings
from fleetedge.orchestration.state import logs_dir

app = typer.Typer(
    help="FleetEdge: reefer telemetry from ships to shore on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(runtime_cmd.app, name="runtime")
app.add_typer(cluster_cmd.app, name="cluster")
app.add_typer(events_cmd.app, name="events")
app.add_typer(ingest_cmd.app, name="ingest")
app.add_typer(edge_cmd.app, name="edge")
app.add_typer(link_cmd.app, name="link")
app.add_typer(shore_cmd.app, name="shore")
app.add_typer(replay_cmd.app, name="replay")
app.add_typer(api_cmd.app, name="api")
app.add_typer(chaos_cmd.app, name="chaos")
app.add_typer(command_cmd.app, name="command")
app.add_typer(report_cmd.app, name="report")
app.add_typer(security_cmd.app, name="security")
app.add_typer(vessel_cmd.app, name="vessel")
app.add_typer(deploy_cmd.app, name="deploy")
app.command("simulate")(simulate_cmd.simulate)
app.command("up")(fleet_cmd.up)
app.command("status")(fleet_cmd.status)
app.command("down")(fleet_cmd.down)
app.command("demo")(demo_cmd.demo)
app.command("check")(fleet_cmd.check)
app.command("logs")(logs_cmd.logs)


# Commands a person runs and watches: their log goes to a file, the terminal gets the story.
_CALM = frozenset({"up", "demo", "down", "status", "check", "vessel", "chaos", "link", "logs"})


@app.callback()
def _root(
    ctx: typer.Context,
    log_json: Annotated[bool, typer.Option("--log-json", help="JSON log lines")] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING, ERROR")] = "INFO",
) -> None:
    command = ctx.invoked_subcommand
    calm = (command in _CALM and not _link_service(command)) or _sub(command) == ["shore", "run"]
    to_file = logs_dir(settings().home) / f"cli-{command}.log" if calm else None
    logs.configure(json=log_json or None, level=log_level.upper(), to_file=to_file)


def _link_service(command: str | None) -> bool:
    """`fleet link run` and `fleet link worker` are services: their stderr is their log."""
    return command == "link" and _sub(command)[1:] in (["run"], ["worker"])


def _sub(command: str | None) -> list[str]:
    """``command`` and the word after it on the command line (`shore run`, say)."""
    argv = sys.argv[1:]
    if command is None or command not in argv:
        return []
    return argv[argv.index(command) : argv.index(command) + 2]


def main() -> None:
    # `kill -USR1 PID` prints every thread's stack to stderr: how to see where a process hangs.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    app()


__all__ = ["app", "main"]
