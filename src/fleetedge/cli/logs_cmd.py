"""``fleet logs SERVICE [-f]``: a service's log file, where its structured log goes."""

from __future__ import annotations

import time
from typing import Annotated, TextIO

import typer

from fleetedge.cli._common import fails_cleanly, out, settings
from fleetedge.orchestration.exceptions import ServiceNotFoundError
from fleetedge.orchestration.state import logs_dir


@fails_cleanly
def logs(
    service: Annotated[str, typer.Argument(help="a service name, as `fleet status` lists it")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="go on as it grows")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="how many to show")] = 40,
) -> None:
    """Show the last lines of a service's log (`cli-up`, `cli-demo`: a command's own log)."""
    directory = logs_dir(settings().home)
    path = directory / f"{service}.log"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.log")) if directory.is_dir() else []
        raise ServiceNotFoundError(
            f"no log for {service!r}",
            hint=f"one of: {', '.join(known)}" if known else "start a fleet with `fleet up`",
        )
    with path.open(errors="replace") as log:
        for line in log.readlines()[-lines:] if lines else []:
            out.print(line.rstrip("\n"), markup=False, highlight=False)
        if follow:
            _follow(log)


def _follow(log: TextIO) -> None:
    """Print what is appended to ``log`` until Ctrl-C."""
    try:
        while True:
            line = log.readline()
            if line:
                out.print(line.rstrip("\n"), markup=False, highlight=False)
            else:
                time.sleep(0.5)  # a file has no event to wait on; Ctrl-C ends the loop
    except KeyboardInterrupt:
        return
