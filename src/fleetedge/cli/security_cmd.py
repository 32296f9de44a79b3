"""``fleet security``: vessels' principals and the fleet's ACLs, on a secured shore."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fleetedge.cli._common import console, fails_cleanly, kafka_runtime, out, settings
from fleetedge.runtime import KafkaCluster, list_clusters
from fleetedge.security import admin
from fleetedge.security import fleet as security
from fleetedge.security.exceptions import SecurityError
from fleetedge.security.store import SecurityStore

app = typer.Typer(help="Principals, credentials and ACLs of a secured fleet.", no_args_is_help=True)

VesselArg = Annotated[str, typer.Argument(help="the vessel, e.g. vessel-3")]
ShoreOpt = Annotated[str, typer.Option(help="the shore cluster's name")]


def _shore(name: str) -> KafkaCluster:
    cfg = settings()
    shore = KafkaCluster.open(name, home=cfg.home, runtime=kafka_runtime(cfg))
    if shore.state.security is None:
        raise SecurityError(
            f"cluster {name} is not secured (it was made with --insecure)",
            hint="`fleet down --purge` and `fleet up` make a secured fleet",
        )
    return shore


@app.command("add-vessel")
@fails_cleanly
def add_vessel(vessel: VesselArg, shore: ShoreOpt = "shore") -> None:
    """Create VESSEL's principal (or reset it): its password ashore and aboard, its ACLs."""
    cfg = settings()
    shore_cluster = _shore(shore)
    aboard = None
    if vessel in list_clusters(cfg.home):
        aboard = KafkaCluster.open(vessel, home=cfg.home, runtime=kafka_runtime(cfg))
    security.add_vessel(
        SecurityStore(cfg.home),
        vessel,
        shore_bootstrap=shore_cluster.bootstrap_servers,
        vessel_bootstrap=aboard.bootstrap_servers if aboard else None,
    )
    console.print(
        f"{vessel} may now write {vessel}.* and read fleet.commands.{vessel} ashore"
        + ("" if aboard else " (no local cluster of that name: set its link password aboard)")
    )


@app.command("revoke-vessel")
@fails_cleanly
def revoke_vessel(vessel: VesselArg, shore: ShoreOpt = "shore") -> None:
    """Remove VESSEL's principal and every ACL on its topics ashore; its link stops writing."""
    cfg = settings()
    shore_cluster = _shore(shore)
    security.revoke_vessel(
        SecurityStore(cfg.home), vessel, shore_bootstrap=shore_cluster.bootstrap_servers
    )
    console.print(f"{vessel} is revoked: its MirrorMaker 2 can no longer write ashore")


@app.command("list")
@fails_cleanly
def list_principals(shore: ShoreOpt = "shore") -> None:
    """Every principal of the fleet with the ACLs it holds ashore."""
    cfg = settings()
    bootstrap = _shore(shore).bootstrap_servers
    table = Table("principal", "ACLs", "resources")
    for name in SecurityStore(cfg.home).principals():
        bindings = admin.acls_of(bootstrap, name)
        resources = sorted(
            {
                f"{b.restype.name.lower()}:{b.name}"
                + ("*" if b.resource_pattern_type.name == "PREFIXED" else "")
                for b in bindings
            }
        )
        table.add_row(name, str(len(bindings)), ", ".join(resources) or "(super user)")
    out.print(table)
