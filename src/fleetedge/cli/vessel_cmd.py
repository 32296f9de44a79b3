"""``fleet vessel add|remove|list``: vessels join and leave a running fleet; ``fleet vessel run``
runs one vessel's services against its own Kafka (``vessel.toml``).

``add`` brings up the vessel's cluster, its principal and ACLs, then writes the fleet's plan:
the running supervisor starts the vessel's simulator, edge and resender, and the link service
puts the vessel behind the link and creates its connectors on the shore's Connect cluster.
``remove`` takes them away in the reverse order. Nothing else restarts.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import console, fails_cleanly, kafka_runtime, out, progress, settings
from fleetedge.cli._roles import run_role
from fleetedge.events import topics
from fleetedge.link.connectors import connector_names
from fleetedge.link.exceptions import ConnectRestError
from fleetedge.link.rest import ConnectRest
from fleetedge.orchestration.exceptions import FleetError
from fleetedge.orchestration.plan import local_vessel
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import Snapshot, live_faults_path, plan_path, snapshot_path
from fleetedge.roles import VesselConfig, load_config
from fleetedge.roles.vessel import VESSEL_SERVICES, vessel_role, vessel_services
from fleetedge.runtime import KafkaCluster, list_clusters
from fleetedge.runtime.ports import (
    MAX_SLOT,
    demo_ports,
    free_node_ports,
    free_ports,
    slot_for_name,
)
from fleetedge.security import fleet as security
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings

app = typer.Typer(help="Vessels joining and leaving the running fleet.", no_args_is_help=True)

JOIN_TIMEOUT_S = 300.0
NameArg = Annotated[str, typer.Argument(help="the vessel id, e.g. mv-anna or imo-9632179")]


def running_plan(cfg: RuntimeSettings) -> FleetPlan:
    """The plan of the fleet running here; FleetError if there is none, or it is not running."""
    path = plan_path(cfg.home)
    snap = Snapshot.load(snapshot_path(cfg.home))
    if not path.exists() or snap is None or snap.age_s > 30:
        raise FleetError("no running fleet here", hint="start one with `fleet up`")
    return FleetPlan.load(path)


def connect_of(plan: FleetPlan) -> ConnectRest:
    urls = plan.connect_urls()
    if not urls:
        raise FleetError("the fleet has no Connect worker in its plan")
    return ConnectRest(urls, timeout=30)


def _free_slot(cfg: RuntimeSettings, name: str) -> int | None:
    """The vessel's demo port slot: ``vessel-N``'s own if free, else the lowest free one."""
    runtime = kafka_runtime(cfg)
    used = set()
    for recorded in list_clusters(cfg.home):
        ports = KafkaCluster.open(recorded, home=cfg.home, runtime=runtime).state.nodes[0]
        used.add((ports.broker_port - 19000) // 100)
    own = slot_for_name(name)
    if own is not None and own not in used:
        return own
    return next((s for s in range(1, MAX_SLOT + 1) if s not in used), None)


def _wait(condition: Callable[[], bool], what: str, step: Callable[[str], None]) -> float:
    began = time.monotonic()
    step(f"waiting for {what}")
    while not condition():
        if time.monotonic() - began > JOIN_TIMEOUT_S:
            raise FleetError(f"timed out after {JOIN_TIMEOUT_S:.0f}s waiting for {what}")
        time.sleep(1.0)  # polling the supervisor's snapshot and Connect; the deadline bounds it
    return time.monotonic() - began


def _healthy(cfg: RuntimeSettings, names: set[str]) -> bool:
    snap = Snapshot.load(snapshot_path(cfg.home))
    found = {s.name: s.phase for s in snap.services} if snap else {}
    return all(found.get(n) == "healthy" for n in names)


def _connectors_running(connect: ConnectRest, vessel: str) -> bool:
    try:
        states = connect.connectors()
    except ConnectRestError:
        return False
    wanted = [states.get(n) for n in connector_names(vessel)]
    return all(
        s is not None
        and s.state == "RUNNING"
        and s.tasks
        and all(t.state == "RUNNING" for t in s.tasks)
        for s in wanted
    )


def _connectors_gone(connect: ConnectRest, vessel: str) -> bool:
    try:
        states = connect.connectors()
    except ConnectRestError:
        return False
    return not set(connector_names(vessel)) & set(states)


@app.command()
@fails_cleanly
def add(
    name: NameArg,
    containers: Annotated[int, typer.Option(min=1, max=10_000, help="reefers aboard")] = 200,
    nodes: Annotated[int, typer.Option(min=1, max=9, help="KRaft nodes of its cluster")] = 3,
) -> None:
    """Add a vessel to the running fleet: its cluster, principal, link and services."""
    cfg = settings()
    if not topics.is_vessel_id(name):
        raise FleetError(
            f"{name!r} is not a vessel id",
            hint="lower-case letters, digits, '-' and '_', at most 63, no dot (e.g. mv-anna)",
        )
    plan = running_plan(cfg)
    if name in plan.vessels or name in list_clusters(cfg.home):
        raise FleetError(f"{name} is already in the fleet", hint="`fleet status` lists vessels")
    connect = connect_of(plan)
    began = time.monotonic()
    runtime = kafka_runtime(cfg)
    store = SecurityStore(cfg.home)
    shore = KafkaCluster.open(plan.shore, home=cfg.home, runtime=runtime)
    slot = None if plan.free_ports else _free_slot(cfg, name)
    ports = (
        free_node_ports(nodes, link=True) if slot is None else demo_ports(slot, nodes, link=True)
    )
    cluster = KafkaCluster.create(
        name,
        home=cfg.home,
        runtime=runtime,
        ports=ports,
        security=security.vessel_security(store, name) if plan.secure else None,
    )
    try:
        with progress(f"starting cluster {name}") as step:
            cluster.up(progress=step)
        if plan.secure:
            with progress(f"provisioning {name}'s principal and ACLs"):
                security.add_vessel(
                    store,
                    name,
                    shore_bootstrap=shore.bootstrap_servers,
                    vessel_bootstrap=cluster.bootstrap_servers,
                )
    except BaseException:
        cluster.down(purge=True)
        raise
    seed = 100 + zlib.crc32(name.encode()) % 10_000  # its own route and cargo, repeatably
    specs = vessel_services(
        local_vessel(name, cluster.bootstrap_servers, containers, seed=seed, speedup=plan.speedup),
        started_at=datetime.fromisoformat(plan.started_at),
        # Beyond the demo scheme: `fleet status` lists them.
        ports=iter(free_ports(VESSEL_SERVICES)),
        live_faults=live_faults_path(cfg.home, name),
    )
    plan.vessels.append(name)
    plan.vessel_containers[name] = containers
    plan.services.extend(specs)
    plan.save(plan_path(cfg.home))
    with progress(f"{name} joining") as step:
        services = _wait(lambda: _healthy(cfg, {s.name for s in specs}), "its services", step)
        linked = _wait(lambda: _connectors_running(connect, name), "its connectors", step)
    out.print(
        f"{name} joined the fleet in {time.monotonic() - began:.0f}s "
        f"(services healthy after {services:.0f}s more, connectors running {linked:.0f}s later)"
    )


@app.command()
@fails_cleanly
def run(
    config: Annotated[Path, typer.Option("--config", help="the vessel's vessel.toml")],
) -> None:
    """Run this vessel's services (reefers' source, edge, resender, command handler) under the
    supervisor, against the Kafka its file names, until Ctrl-C or SIGTERM."""
    vessel = load_config(config, VesselConfig)
    run_role(vessel_role(vessel, settings().home))


@app.command()
@fails_cleanly
def remove(name: NameArg) -> None:
    """Remove a vessel from the running fleet: its services, link, cluster and principal."""
    cfg = settings()
    plan = running_plan(cfg)
    if name not in plan.vessels:
        known = ", ".join(plan.vessels) or "none"
        raise FleetError(f"no vessel {name!r} in the fleet (vessels: {known})")
    connect = connect_of(plan)
    began = time.monotonic()
    mine = {s.name for s in plan.services if s.vessel == name}
    plan.vessels.remove(name)
    plan.vessel_containers.pop(name, None)
    plan.services = [s for s in plan.services if s.name not in mine]
    plan.save(plan_path(cfg.home))
    runtime = kafka_runtime(cfg)
    with progress(f"{name} leaving") as step:
        _wait(lambda: _stopped(cfg, mine), "its services to stop", step)
        cluster = KafkaCluster.open(name, home=cfg.home, runtime=runtime)
        step(f"stopping cluster {name}")
        cluster.down(purge=True)
        faults = live_faults_path(cfg.home, name)
        for path in (faults, faults.with_name(faults.name + ".read")):
            path.unlink(missing_ok=True)
        # The link service sees the cluster gone and deletes its connectors (one writer).
        _wait(lambda: _connectors_gone(connect, name), "its connectors to go", step)
        if plan.secure:
            shore = KafkaCluster.open(plan.shore, home=cfg.home, runtime=runtime)
            store = SecurityStore(cfg.home)
            if store.has_principal(name):
                security.revoke_vessel(
                    store, name, shore_bootstrap=shore.bootstrap_servers, keep_readers=True
                )
    console.print(f"{name}'s data ashore stays; its link is reported offline")
    out.print(f"{name} left the fleet in {time.monotonic() - began:.0f}s")


def _stopped(cfg: RuntimeSettings, names: set[str]) -> bool:
    snap = Snapshot.load(snapshot_path(cfg.home))
    return snap is not None and not names & {s.name for s in snap.services}


@app.command("list")
@fails_cleanly
def list_() -> None:
    """The fleet's vessels and their reefers."""
    plan = running_plan(settings())
    for vessel in plan.vessels:
        out.print(f"{vessel}  {plan.containers_of(vessel)} reefers")
