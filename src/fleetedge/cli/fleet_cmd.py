"""``fleet up|status|down``: the whole local fleet, supervised.

``up`` starts every vessel's cluster and the shore cluster, then every service under the
process supervisor (see :mod:`fleetedge.orchestration.supervisor`), and stays until Ctrl-C (or
returns at once with ``--detach``, leaving a supervisor in the background). ``down`` stops all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psutil
import typer
from rich.table import Table

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
from fleetedge.devices.faults import parse_duration
from fleetedge.orchestration.exceptions import FleetError
from fleetedge.orchestration.plan import SUPERVISOR_METRICS_PORT, FleetOptions, build_plan
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import (
    Snapshot,
    ensure_token,
    fleet_dir,
    logs_dir,
    plan_path,
    snapshot_path,
    token_path,
)
from fleetedge.orchestration.supervisor import ProcessSupervisor
from fleetedge.runtime import KafkaCluster, list_clusters
from fleetedge.security import fleet as security
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings
from fleetedge.shore import AnalyticsConfig, ensure_topics

SUPERVISOR_PID = "supervisor.pid"
START_TIMEOUT_S = 300.0
# Services start in stages, each once the one before is healthy: on two cores, a dozen Python
# processes and the link's JVMs starting at once slow each other past their deadlines.
STAGES = (
    ("vessel services", ("simulator", "edge", "resend", "commands")),
    ("the link", ("connect", "link")),
    ("shore services", ("normalizer", "analytics", "projector", "backfill", "api")),
)


@dataclass
class RunningFleet:
    plan: FleetPlan
    clusters: dict[str, KafkaCluster]
    supervisor: ProcessSupervisor
    started_s: float

    def stop(self, cfg: RuntimeSettings) -> None:
        console.print("stopping the fleet")
        self.supervisor.stop()
        link_cmd.stop_link(cfg)
        _down_clusters(self.clusters)
        (fleet_dir(cfg.home) / SUPERVISOR_PID).unlink(missing_ok=True)


def launch(options: FleetOptions, *, nodes: int = 3) -> RunningFleet:
    """Start clusters, then services; return once every service is healthy."""
    began = time.monotonic()
    cfg = settings()
    names = [*(f"vessel-{i}" for i in range(1, options.vessels + 1)), "shore"]
    clusters: dict[str, KafkaCluster] = {}
    supervisor: ProcessSupervisor | None = None
    store = SecurityStore(cfg.home)
    try:
        for name in names:
            secured = None
            if options.secure:
                make = security.shore_security if name == "shore" else security.vessel_security
                secured = make(store, name)
            cluster = open_or_create(
                name,
                nodes=nodes,
                slot=None,
                free_ports=options.free_ports,
                data_dir=None,
                link=name != "shore",
                security=secured,
            )
            clusters[name] = cluster
        _start_clusters(clusters)
        shore = clusters["shore"]
        with progress("creating the shore topics"):
            ensure_topics(
                AnalyticsConfig(
                    shore.bootstrap_servers, Path(), replication_factor=shore.replication_factor
                )
            )
        credentials = _provision(store, clusters) if shore.state.security else None
        plan = build_plan(
            options,
            home=cfg.home,
            bootstraps={n: c.bootstrap_servers for n, c in clusters.items()},
            started_at=_voyage_start(cfg, names),
            credentials=credentials,
        )
        plan.save(plan_path(cfg.home))
        ensure_token(cfg.home)
        (fleet_dir(cfg.home) / SUPERVISOR_PID).write_text(str(os.getpid()))
        supervisor = ProcessSupervisor(
            plan.services,
            logs=logs_dir(cfg.home),
            snapshot=snapshot_path(cfg.home),
            clusters=list(clusters.values()),
            on_event=lambda message: console.print(f"[yellow]supervisor:[/] {message}"),
        )
        for stage, kinds in STAGES:
            supervisor.start(kinds)
            _wait_healthy(supervisor, stage)
    except BaseException:
        if supervisor is not None:
            supervisor.stop()
        link_cmd.stop_link(cfg)
        _down_clusters(clusters)
        raise
    return RunningFleet(plan, clusters, supervisor, time.monotonic() - began)


def _start_clusters(clusters: dict[str, KafkaCluster]) -> None:
    """Every cluster starts at once: they are independent, and their brokers' start-up is
    mostly waiting (elections, registration), so the fleet comes up in one cluster's time
    rather than one per vessel. The first failure is raised once all have returned."""
    with progress(f"starting clusters {', '.join(clusters)}") as step:

        def say(name: str) -> Callable[[str], None]:
            return lambda text: step(f"{name}: {text}")

        with ThreadPoolExecutor(max_workers=len(clusters)) as pool:
            started = [pool.submit(c.up, progress=say(n)) for n, c in clusters.items()]
        for future in started:
            future.result()


def _down_clusters(clusters: dict[str, KafkaCluster]) -> None:
    """Every cluster stops at once, as it started: each one's controlled shutdown is waiting."""
    if not clusters:
        return
    with ThreadPoolExecutor(max_workers=len(clusters)) as pool:
        stopped = [pool.submit(cluster.down) for cluster in clusters.values()]
    for future in stopped:
        future.result()


def _provision(store: SecurityStore, clusters: dict[str, KafkaCluster]) -> dict[str, Path]:
    """Principals and ACLs: every shore service's, and every vessel's, ashore and aboard."""
    shore = clusters["shore"].bootstrap_servers
    with progress("provisioning principals and ACLs") as step:
        files = security.provision_services(store, shore)
        for name, cluster in clusters.items():
            if name != "shore":
                step(f"vessel {name}")
                security.add_vessel(
                    store, name, shore_bootstrap=shore, vessel_bootstrap=cluster.bootstrap_servers
                )
    return files


def _voyage_start(cfg: RuntimeSettings, names: list[str]) -> datetime:
    """The simulated start: kept from the last run of the same fleet (the simulators resume)."""
    path = plan_path(cfg.home)
    if path.exists():
        previous = FleetPlan.load(path)
        if [*previous.vessels, previous.shore] == names:
            return datetime.fromisoformat(previous.started_at)
    # On the minute, as a reefer's recorder stamps its readings at exact intervals.
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _wait_healthy(supervisor: ProcessSupervisor, stage: str) -> None:
    with progress(f"starting {stage}") as step:
        supervisor.wait_healthy(
            START_TIMEOUT_S, lambda pending: step(f"waiting for {', '.join(pending)}")
        )


def follow_plan(fleet: RunningFleet, cfg: RuntimeSettings) -> Callable[[], None]:
    """A check, for each supervisor round, that applies a changed plan (``fleet vessel add`` or
    ``remove`` rewrote it): new services start, removed ones stop, nothing else restarts."""
    path = plan_path(cfg.home)
    seen = {"mtime": path.stat().st_mtime_ns}

    def check() -> None:
        mtime = path.stat().st_mtime_ns
        if mtime == seen["mtime"]:
            return
        seen["mtime"] = mtime
        plan = FleetPlan.load(path)
        runtime = kafka_runtime(cfg)
        names = [*plan.vessels, plan.shore]
        fleet.clusters = {
            n: fleet.clusters.get(n) or KafkaCluster.open(n, home=cfg.home, runtime=runtime)
            for n in names
        }
        fleet.plan = plan
        started, stopped = fleet.supervisor.reconcile(plan.services, list(fleet.clusters.values()))
        for name in started:
            console.print(f"[green]supervisor:[/] {name} started (the plan changed)")
        for name in stopped:
            console.print(f"[yellow]supervisor:[/] {name} stopped (the plan changed)")

    return check


def supervise(fleet: RunningFleet, stop: threading.Event) -> threading.Thread:
    """Run the supervisor's rounds in a thread until ``stop``."""
    thread = threading.Thread(
        target=fleet.supervisor.run,
        args=(stop,),
        kwargs={"on_round": follow_plan(fleet, settings())},
        name="supervisor",
    )
    thread.start()
    return thread


def print_ready(fleet: RunningFleet, cfg: RuntimeSettings) -> None:
    console.print(
        f"the fleet is up in {fleet.started_s:.0f}s: {len(fleet.plan.vessels)} vessels, "
        f"{len(fleet.plan.services)} services"
    )
    out.print(f"dashboard: {fleet.plan.api_url}/")
    console.print(f"API: {fleet.plan.api_url}/docs · operator token in {token_path(cfg.home)}")


@fails_cleanly
def up(
    vessels: Annotated[
        int, typer.Option(min=1, max=99, help="vessels vessel-1..N, each its own cluster")
    ] = 2,
    containers: Annotated[int, typer.Option(min=1, max=10_000, help="reefers per vessel")] = 200,
    speedup: Annotated[float, typer.Option(help="simulated/real time")] = 60.0,
    analytics_workers: Annotated[int, typer.Option(min=1, max=8)] = 2,
    connect_workers: Annotated[
        int, typer.Option(min=1, max=8, help="workers of the shore's Kafka Connect cluster")
    ] = 1,
    nodes: Annotated[int, typer.Option(min=1, max=9, help="KRaft nodes per cluster")] = 3,
    database: Annotated[str | None, typer.Option(help="read model URL; default SQLite")] = None,
    free_ports: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="supervise in the background")] = False,
    incident_at: Annotated[
        str, typer.Option(help="simulated time of vessel-1's scripted bay power incident")
    ] = "2h",
    insecure: Annotated[
        bool, typer.Option("--insecure", help="plaintext, no ACLs (new clusters only)")
    ] = False,
) -> None:
    """Start the whole fleet (clusters, link, services, API) and supervise it until Ctrl-C."""
    cfg = settings()
    if detach:
        _detach(sys.argv[1:], cfg)
        return
    parse_duration(incident_at)
    options = FleetOptions(
        vessels,
        containers,
        speedup,
        analytics_workers,
        connect_workers,
        free_ports,
        database,
        incident_at=incident_at,
        secure=not insecure,
    )
    stop = until_signalled(None if free_ports else SUPERVISOR_METRICS_PORT)
    fleet = launch(options, nodes=nodes)
    try:
        print_ready(fleet, cfg)
        console.print("supervising; `fleet status` shows every process; Ctrl-C stops the fleet")
        fleet.supervisor.run(stop, on_round=follow_plan(fleet, cfg))
    finally:
        fleet.stop(cfg)


def _detach(argv: list[str], cfg: RuntimeSettings) -> None:
    """Run ``fleet up`` (without --detach) in the background; return once it is healthy."""
    command = [sys.executable, "-m", "fleetedge.cli", *[a for a in argv if a != "--detach"]]
    logs_dir(cfg.home).mkdir(parents=True, exist_ok=True)
    snapshot_path(cfg.home).unlink(missing_ok=True)
    log_path = logs_dir(cfg.home) / "fleet-up.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S + 300
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise FleetError("`fleet up` stopped while starting:\n" + "\n".join(tail))
        snap = Snapshot.load(snapshot_path(cfg.home))
        if (
            snap is not None
            and snap.supervisor_pid == proc.pid
            and all(s.phase == "healthy" for s in snap.services)
        ):
            break
        if time.monotonic() > deadline:
            raise FleetError(f"the fleet was not healthy in time; see {log_path}")
        time.sleep(1.0)  # polling the supervisor's snapshot; the deadline bounds it
    plan = FleetPlan.load(plan_path(cfg.home))
    out.print(f"dashboard: {plan.api_url}/")
    console.print(f"supervisor running (pid {proc.pid}); `fleet status`, `fleet down`")


def services_table(snap: Snapshot) -> Table:
    fresh = snap.age_s < 10
    table = Table(
        title=f"services  supervisor pid {snap.supervisor_pid} "
        + ("[green]running[/]" if fresh else f"[red]silent for {snap.age_s:.0f}s[/]")
    )
    for column in ("service", "kind", "pid", "phase", "restarts", "last exit"):
        table.add_column(column)
    colours = {"healthy": "green", "starting": "yellow", "backoff": "red", "stopped": "red"}
    for s in snap.services:
        table.add_row(
            s.name,
            s.kind,
            str(s.pid or "-"),
            f"[{colours[s.phase]}]{s.phase}[/]",
            str(s.restarts),
            "-" if s.last_exit is None else str(s.last_exit),
        )
    return table


@fails_cleanly
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every cluster, and every supervised service with its health."""
    cfg = settings()
    runtime = kafka_runtime(cfg)
    clusters = [
        KafkaCluster.open(n, home=cfg.home, runtime=runtime) for n in list_clusters(cfg.home)
    ]
    snap = Snapshot.load(snapshot_path(cfg.home))
    if as_json:
        import json  # noqa: PLC0415

        typer.echo(
            json.dumps(
                {
                    "clusters": [c.status().as_dict() for c in clusters],
                    "supervisor": snap.model_dump() if snap else None,
                },
                indent=2,
            )
        )
        return
    print_status([c.status() for c in clusters], as_json=False)
    if snap is not None:
        out.print(services_table(snap))


@fails_cleanly
def down(
    purge: Annotated[bool, typer.Option("--purge", help="delete all data too")] = False,
) -> None:
    """Stop the supervisor, every service, the link and every recorded cluster."""
    cfg = settings()
    pid_file = fleet_dir(cfg.home) / SUPERVISOR_PID
    if pid_file.exists():
        pid = int(pid_file.read_text())
        if _is_fleet(pid):
            os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                psutil.Process(pid).wait(180)
        pid_file.unlink(missing_ok=True)
    snap = Snapshot.load(snapshot_path(cfg.home))
    for s in snap.services if snap else []:
        if s.pid is not None and _is_fleet(s.pid):
            os.kill(s.pid, signal.SIGKILL)
            out.print(f"service {s.name} killed (its supervisor had gone)")
    runtime = kafka_runtime(cfg)
    link_cmd.stop_link(cfg)
    for name in list_clusters(cfg.home):
        KafkaCluster.open(name, home=cfg.home, runtime=runtime).down(purge=purge)
        out.print(f"cluster {name} {'purged' if purge else 'stopped'}")
    if purge:
        import shutil  # noqa: PLC0415

        shutil.rmtree(fleet_dir(cfg.home), ignore_errors=True)


def _is_fleet(pid: int) -> bool:
    """The pid is a ``fleet`` process (run as ``fleet`` or ``python -m fleetedge.cli``)."""
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return any(
        a == "fleetedge.cli" or a.endswith("/fleet") or a.startswith("-Dfleetedge.process=")
        for a in args
    )


def _role_ends(path: Path) -> tuple[dict[str, str], str, str]:
    """From a shore.toml: each vessel as the shore reaches it (its link listener), the shore's
    bootstrap and the read model; this process presents the file's logins at each."""
    from fleetedge.roles import ShoreConfig, load_config  # noqa: PLC0415
    from fleetedge.roles.link import vessel_auth  # noqa: PLC0415
    from fleetedge.security import clients  # noqa: PLC0415

    config = load_config(path, ShoreConfig)
    shore = config.kafka.bootstrap
    auth = config.kafka.auth()
    if auth is not None:
        clients.use(shore, auth)
    for vessel in config.vessels:
        aboard = vessel_auth(config, vessel)[1]
        if aboard is not None:
            clients.use(vessel.link_bootstrap, aboard)
    if not config.vessels:
        raise FleetError(f"{path}: no [[vessels]] to check")
    return {v.id: v.link_bootstrap for v in config.vessels}, shore, config.database


@fails_cleanly
def check(
    timeout: Annotated[float, typer.Option(help="seconds to wait for records on their way")] = 180,
    shore_config: Annotated[
        Path | None,
        typer.Option(
            "--shore-config",
            help="check a deployment's roles: the shore and the vessels its shore.toml names",
        ),
    ] = None,
) -> None:
    """Check that nothing was lost: every window and alert aboard is ashore, and no gaps."""
    from fleetedge.api.reader import ReadModel  # noqa: PLC0415
    from fleetedge.orchestration.check import check as check_fleet  # noqa: PLC0415

    if shore_config is not None:
        vessels, shore_bootstrap, database = _role_ends(shore_config)
    else:
        cfg = settings()
        path = plan_path(cfg.home)
        if not path.exists():
            raise FleetError("no fleet is recorded here", hint="start one with `fleet up`")
        plan = FleetPlan.load(path)
        runtime = kafka_runtime(cfg)
        clusters = {
            n: KafkaCluster.open(n, home=cfg.home, runtime=runtime)
            for n in [*plan.vessels, plan.shore]
        }
        vessels = {v: clusters[v].bootstrap_servers for v in plan.vessels}
        shore_bootstrap, database = clusters[plan.shore].bootstrap_servers, plan.database
    reader = ReadModel(database)
    try:
        report = check_fleet(
            vessels, shore_bootstrap, reader, timeout=timeout, on_wait=console.print
        )
    finally:
        reader.close()
    for line in report.lines():
        out.print(line)
    if not report.nothing_lost:
        raise FleetError("records are missing ashore (see above)")
    out.print("nothing lost")
