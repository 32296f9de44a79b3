"""``fleet cluster``: one local KRaft cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import (
    fails_cleanly,
    kafka_runtime,
    out,
    print_status,
    progress,
    settings,
)
from fleetedge.runtime import (
    KafkaCluster,
    demo_ports,
    free_node_ports,
    list_clusters,
    slot_for_name,
)
from fleetedge.runtime.cluster import state_path
from fleetedge.runtime.exceptions import ClusterError
from fleetedge.runtime.state import ClusterSecurity

app = typer.Typer(
    help="Start, inspect, break and stop one local Kafka cluster.", no_args_is_help=True
)

NodeOpt = Annotated[int, typer.Option("--node", "-n", help="node id (1-based)")]


def _open(name: str) -> KafkaCluster:
    cfg = settings()
    return KafkaCluster.open(name, home=cfg.home, runtime=kafka_runtime(cfg))


def open_or_create(
    name: str,
    *,
    nodes: int,
    slot: int | None,
    free_ports: bool,
    data_dir: Path | None,
    link: bool = False,
    security: ClusterSecurity | None = None,
) -> KafkaCluster:
    """The recorded cluster ``name``, or a new record with demo-scheme or free ports.

    ``security`` applies to a new record only: a recorded cluster keeps what it was made with.
    """
    cfg = settings()
    runtime = kafka_runtime(cfg)  # Java and jars are checked before anything is written
    if state_path(cfg.home, name).exists():
        return KafkaCluster.open(name, home=cfg.home, runtime=runtime)
    if free_ports:
        ports = free_node_ports(nodes, link=link)
    else:
        chosen = slot if slot is not None else slot_for_name(name)
        if chosen is None:
            raise ClusterError(
                "no demo port slot for this name",
                cluster=name,
                hint="name it `shore` or `vessel-N`, or pass --slot N or --free-ports",
            )
        ports = demo_ports(chosen, nodes, link=link)
    return KafkaCluster.create(
        name, home=cfg.home, runtime=runtime, ports=ports, data_dir=data_dir, security=security
    )


@app.command()
@fails_cleanly
def up(
    name: str,
    nodes: Annotated[int, typer.Option(help="KRaft nodes, each broker and controller")] = 3,
    slot: Annotated[int | None, typer.Option(help="demo port slot (shore=0, vessel-N=N)")] = None,
    free_ports: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="where the nodes keep their data")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for a writable cluster")] = 180,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """Start cluster NAME (create it first if new); return once it takes acks=all writes."""
    cluster = open_or_create(name, nodes=nodes, slot=slot, free_ports=free_ports, data_dir=data_dir)
    with progress(f"starting cluster {name}") as step:
        status = cluster.up(timeout=timeout, progress=step)
    if as_json:
        typer.echo(json.dumps(status.as_dict(), indent=2))
    else:
        print_status([status], as_json=False)


@app.command()
@fails_cleanly
def status(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Nodes, pids, ports, quorum leader and under-replicated partitions of NAME."""
    st = _open(name).status()
    if as_json:
        typer.echo(json.dumps(st.as_dict(), indent=2))
    else:
        print_status([st], as_json=False)


@app.command("list")
@fails_cleanly
def list_() -> None:
    """Names of the recorded clusters."""
    for name in list_clusters(settings().home):
        out.print(name)


@app.command()
@fails_cleanly
def kill(name: str, node: NodeOpt) -> None:
    """SIGKILL one node, as a crash would."""
    _open(name).kill_node(node)
    out.print(f"node {node} of {name} killed")


@app.command()
@fails_cleanly
def stop(name: str, node: NodeOpt) -> None:
    """Stop one node gracefully (SIGTERM, controlled shutdown)."""
    _open(name).stop_node(node)
    out.print(f"node {node} of {name} stopped")


@app.command()
@fails_cleanly
def start(name: str, node: NodeOpt) -> None:
    """Restart one node on its data; return once its broker is registered."""
    _open(name).start_node(node)
    out.print(f"node {node} of {name} started")


@app.command()
@fails_cleanly
def down(
    name: str,
    purge: Annotated[bool, typer.Option("--purge", help="delete all its data too")] = False,
) -> None:
    """Stop every node of NAME."""
    _open(name).down(purge=purge)
    out.print(f"cluster {name} {'purged' if purge else 'stopped'}")
