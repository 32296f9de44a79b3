"""The `fleet` command imports only the module of the command it runs: every service of a fleet
is a `fleet` command, and importing every command's module cost a second of CPU per start."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import typer

from fleetedge import cli

_LOADED = """
import sys
from fleetedge import cli
sys.argv = ["fleet", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("fleetedge.cli.") and m.endswith("_cmd")))
"""


def _loaded(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_a_command_imports_its_own_module_only() -> None:
    assert _loaded("chaos", "--help") == "['fleetedge.cli.chaos_cmd']"
    assert _loaded("--log-level", "DEBUG", "logs", "--help") == "['fleetedge.cli.logs_cmd']"


def test_help_and_the_app_hold_every_command() -> None:
    modules = set(cli.GROUPS.values()) | {module for module, _ in cli.COMMANDS.values()}
    assert _loaded("--help").count("_cmd") == len(modules)
    root: Any = typer.main.get_command(cli.app)  # a group (of typer's own click)
    assert set(root.commands) == set(cli.GROUPS) | set(cli.COMMANDS)
