"""``fleet deploy render``: Kubernetes (Strimzi) or systemd files from the roles' files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import fails_cleanly, out
from fleetedge.deploy import render as render_files
from fleetedge.deploy.render import DEFAULT_IMAGE, Target
from fleetedge.roles import ShoreConfig, VesselConfig, load_config

app = typer.Typer(help="Deployment files from vessel.toml and shore.toml.", no_args_is_help=True)


@app.command()
@fails_cleanly
def render(
    out_dir: Annotated[Path, typer.Argument(help="where the files go")],
    target: Annotated[Target, typer.Option(help="kubernetes (Strimzi) or systemd")],
    vessel: Annotated[list[Path] | None, typer.Option(help="a vessel.toml (repeatable)")] = None,
    shore: Annotated[Path | None, typer.Option(help="the shore.toml")] = None,
    namespace: Annotated[str, typer.Option(help="the Kubernetes namespace")] = "fleetedge",
    image: Annotated[str, typer.Option(help="our container image")] = DEFAULT_IMAGE,
) -> None:
    """Render the roles' deployment files into OUT_DIR."""
    vessels = [(path, load_config(path, VesselConfig)) for path in vessel or []]
    shore_config = (shore, load_config(shore, ShoreConfig)) if shore is not None else None
    written = render_files(
        target, out_dir, vessels=vessels, shore=shore_config, namespace=namespace, image=image
    )
    for path in written:
        out.print(str(path))
