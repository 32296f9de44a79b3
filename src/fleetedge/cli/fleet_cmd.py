"""``fleet up|status|down``: the whole local fleet: vessel and shore clusters and the link."""

from __future__ import annotations

from typing import Annotated

import typer

from fleetedge.cli import link_cmd
from fleetedge.cli._common import (
    console,
    fails_cleanly,
    kafka_runtime,
    out,
    print_status,
    progress,
    settings,
    until_signalled,
)
from fleetedge.cli.cluster_cmd import open_or_create
from fleetedge.runtime import KafkaCluster, list_clusters


def fleet_names(vessels: int) -> list[str]:
    return [*(f"vessel-{i}" for i in range(1, vessels + 1)), "shore"]


@fails_cleanly
def up(
    vessels: Annotated[int, typer.Option(min=1, max=99, help="vessels, each its own cluster")] = 1,
    nodes: Annotated[int, typer.Option(min=1, max=9, help="KRaft nodes per cluster")] = 3,
    free_ports: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="leave it running and return")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """Start every vessel's cluster and the shore cluster; stay until Ctrl-C unless --detach."""
    names = fleet_names(vessels)
    clusters: list[KafkaCluster] = []
    for name in names:
        cluster = open_or_create(
            name,
            nodes=nodes,
            slot=None,
            free_ports=free_ports,
            data_dir=None,
            link=name != "shore",
        )
        with progress(f"starting cluster {name}") as step:
            cluster.up(progress=step)
        clusters.append(cluster)
    print_status([c.status() for c in clusters], as_json)
    if detach:
        pid = link_cmd.spawn_detached(settings(), free_ports=free_ports)
        console.print(f"link supervisor running (pid {pid}); `fleet link status` shows it")
        console.print("running; `fleet status` shows it, `fleet down` stops it")
        return
    cfg = settings()
    _emulator, supervisor = link_cmd.build_supervisor(
        cfg, "shore", free=free_ports, telemetry=False
    )
    stop = until_signalled(None if free_ports else link_cmd.LINK_METRICS_PORT)
    console.print("the fleet is running; `fleet link status` shows the link; Ctrl-C stops it")
    try:
        supervisor.run(stop)
    finally:
        console.print("stopping the fleet")
        supervisor.close()
        link_cmd.stop_link(cfg)
        for cluster in reversed(clusters):
            cluster.down()


@fails_cleanly
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Status of every recorded cluster."""
    cfg = settings()
    runtime = kafka_runtime(cfg)
    clusters = [
        KafkaCluster.open(n, home=cfg.home, runtime=runtime) for n in list_clusters(cfg.home)
    ]
    print_status([c.status() for c in clusters], as_json)


@fails_cleanly
def down(
    purge: Annotated[bool, typer.Option("--purge", help="delete all data too")] = False,
) -> None:
    """Stop every recorded cluster."""
    cfg = settings()
    runtime = kafka_runtime(cfg)
    link_cmd.stop_link(cfg)
    for name in list_clusters(cfg.home):
        KafkaCluster.open(name, home=cfg.home, runtime=runtime).down(purge=purge)
        out.print(f"cluster {name} {'purged' if purge else 'stopped'}")
