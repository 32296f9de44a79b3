"""``fleet chaos``: failures injected on purpose into a running fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetedge.cli._common import fails_cleanly, out, settings
from fleetedge.orchestration.chaos import Chaos

app = typer.Typer(help="Inject failures: kill a broker or a service, cut a link, fault a reefer.")

Vessel = Annotated[str, typer.Argument(help="the vessel, e.g. vessel-1")]


@app.command("kill-broker")
@fails_cleanly
def kill_broker(
    cluster: Annotated[str, typer.Argument(help="vessel-N or shore")],
    node: Annotated[int, typer.Argument(help="node id, 1-3")],
) -> None:
    """SIGKILL one Kafka node; the supervisor restarts it after its backoff."""
    Chaos(settings()).kill_broker(cluster, node)
    out.print(f"{cluster} broker {node} killed")


@app.command("kill-service")
@fails_cleanly
def kill_service(
    name: Annotated[str, typer.Argument(help="e.g. edge-vessel-1, projector")],
) -> None:
    """SIGKILL one supervised service; the supervisor restarts it."""
    pid = Chaos(settings()).kill_service(name)
    out.print(f"{name} (pid {pid}) killed")


@app.command("cut-link")
@fails_cleanly
def cut_link(vessel: Vessel) -> None:
    """Cut the vessel's satellite link; it keeps collecting aboard."""
    Chaos(settings()).cut_link(vessel)
    out.print(f"{vessel}: link cut")


@app.command("restore-link")
@fails_cleanly
def restore_link(vessel: Vessel) -> None:
    """Restore the vessel's link; its backlog drains, alerts first."""
    Chaos(settings()).restore_link(vessel)
    out.print(f"{vessel}: link restored")


@app.command("fault")
@fails_cleanly
def fault(
    vessel: Vessel,
    words: Annotated[
        list[str],
        typer.Argument(help="TARGET KIND [DURATION|VALUE], e.g. bay 3 power-loss 40m"),
    ],
    after: Annotated[str, typer.Option("--in", help="simulated delay, e.g. 30m")] = "0m",
) -> None:
    """Inject a reefer fault into the vessel's running simulator (at its next tick)."""
    injected = Chaos(settings()).fault(vessel, " ".join([after, *words]))
    out.print(f"{vessel}: {injected.kind.value} on {injected.target} handed to its simulator")
