"""``fleet events``: the written contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import console, out
from fleetedge.events import docs

app = typer.Typer(help="Event contracts: schemas and the AsyncAPI document.", no_args_is_help=True)


@app.command("docs")
def docs_(
    docs_dir: Annotated[Path, typer.Option(help="where docs/ is")] = Path("docs"),
    check: Annotated[bool, typer.Option("--check", help="fail if the files are stale")] = False,
) -> None:
    """Write (or check) docs/schemas/*.json and docs/asyncapi.json from the code."""
    if check:
        stale = docs.stale(docs_dir)
        if stale:
            console.print(f"[red]stale:[/] {', '.join(stale)}; run `fleet events docs`")
            raise typer.Exit(1)
        out.print("schemas and AsyncAPI document match the code")
        return
    for path in docs.write(docs_dir):
        out.print(f"wrote {path}")
