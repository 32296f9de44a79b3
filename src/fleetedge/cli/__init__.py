"""The ``fleet`` command."""

from __future__ import annotations

import faulthandler
import importlib
import signal
import sys
from types import ModuleType
from typing import Annotated

import typer

from fleetedge import logs
from fleetedge.cli._common import settings
from fleetedge.orchestration.state import logs_dir

# Each command's module, imported only when that command runs (or for the whole tree: help, a
# test walking it). Importing them all took a second of CPU, paid by every call and by every
# service the fleet starts (each is a `fleet` command).
GROUPS = {  # name: module, whose ``app`` is the group
    "runtime": "runtime_cmd",
    "cluster": "cluster_cmd",
    "events": "events_cmd",
    "ingest": "ingest_cmd",
    "edge": "edge_cmd",
    "link": "link_cmd",
    "shore": "shore_cmd",
    "replay": "replay_cmd",
    "api": "api_cmd",
    "chaos": "chaos_cmd",
    "command": "command_cmd",
    "report": "report_cmd",
    "security": "security_cmd",
    "vessel": "vessel_cmd",
    "deploy": "deploy_cmd",
}
COMMANDS = {  # name: (module, function)
    "simulate": ("simulate_cmd", "simulate"),
    "up": ("fleet_cmd", "up"),
    "status": ("fleet_cmd", "status"),
    "down": ("fleet_cmd", "down"),
    "demo": ("demo_cmd", "demo"),
    "check": ("fleet_cmd", "check"),
    "logs": ("logs_cmd", "logs"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The ``fleet`` command: every command, or only the one named ``only``."""
    root = typer.Typer(
        help="FleetEdge: reefer telemetry from ships to shore on Apache Kafka.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    root.callback()(_root)
    for name, module in GROUPS.items():
        if only in (None, name):
            group: typer.Typer = _module(module).app
            root.add_typer(group, name=name)
    for name, (module, function) in COMMANDS.items():
        if only in (None, name):
            root.command(name)(getattr(_module(module), function))
    return root


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"fleetedge.cli.{name}")


# Commands a person runs and watches: their log goes to a file, the terminal gets the story.
_CALM = frozenset({"up", "demo", "down", "status", "check", "vessel", "chaos", "link", "logs"})


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
    # The command is the first word naming one (the root's options come before it, and none
    # takes a command's name as its value); without one, the whole tree (for its help).
    named = next((arg for arg in sys.argv[1:] if arg in GROUPS or arg in COMMANDS), None)
    build_app(named)()


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command tree, built on first use."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


__all__ = ["app", "build_app", "main"]
