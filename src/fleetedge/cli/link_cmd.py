"""``fleet link``: every vessel's link (emulator, Connect, MirrorMaker 2, health)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import psutil
import typer
from confluent_kafka import KafkaException

from fleetedge.cli._common import (
    console,
    fails_cleanly,
    kafka_runtime,
    out,
    settings,
    until_signalled,
)
from fleetedge.events import topics
from fleetedge.exceptions import FleetEdgeError
from fleetedge.link.connect import ConnectSettings, ConnectWorker, connect_dir
from fleetedge.link.connectors import connector_names
from fleetedge.link.emulator import LinkEmulator, Shape, emulator_dir
from fleetedge.link.exceptions import ConnectRestError
from fleetedge.link.health import DrainTracker, measure
from fleetedge.link.mirror import DOWNLINK, UPLINKS
from fleetedge.link.reports import LinkReporter
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import plan_path
from fleetedge.runtime import KafkaCluster, list_clusters
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.jvm import find_processes, send_signal, wait_gone
from fleetedge.runtime.ports import free_ports
from fleetedge.security import fleet as security
from fleetedge.security.clients import CREDENTIALS_ENV, load_credentials_file
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings

app = typer.Typer(help="The emulated satellite link and MirrorMaker 2.", no_args_is_help=True)

# The demo's fixed ports (see the README): Toxiproxy's API, the Connect workers' REST (worker k
# on 18200 + k - 1), the link supervisor's metrics. A downlink's internal REST, which nothing
# outside its own process calls, takes a free port.
EMULATOR_API_PORT = 18100
CONNECT_REST_BASE = 18200
LINK_METRICS_PORT = 18090

VesselArg = Annotated[str, typer.Argument(help="the vessel, e.g. vessel-1")]
ShoreOpt = Annotated[str, typer.Option(help="the shore cluster's name")]


def emulator(cfg: RuntimeSettings, api_port: int | None = None) -> LinkEmulator:
    binary = ToxiproxyBinary(cfg.cache_dir.parent).require()
    return LinkEmulator(emulator_dir(cfg.home), binary, api_port or EMULATOR_API_PORT)


def linked_vessels(cfg: RuntimeSettings) -> list[KafkaCluster]:
    runtime = kafka_runtime(cfg)
    clusters = [
        KafkaCluster.open(n, home=cfg.home, runtime=runtime) for n in list_clusters(cfg.home)
    ]
    return [c for c in clusters if c.link_bootstrap_servers is not None]


def connect_urls(ports: list[int]) -> list[str]:
    return [f"http://127.0.0.1:{p}" for p in ports]


def fleet_connect_urls(cfg: RuntimeSettings) -> list[str]:
    """The Connect workers of the fleet running here (its plan), else the demo's first one."""
    path = plan_path(cfg.home)
    if path.exists() and (urls := FleetPlan.load(path).connect_urls()):
        return urls
    return connect_urls([CONNECT_REST_BASE])


class VesselSync:
    """Keeps the link's vessels those recorded under FLEET_HOME with a link listener, running
    and holding credentials: a vessel added to the running fleet (``fleet vessel add``) is
    linked on the next round, a removed one unlinked. Nothing else is touched."""

    def __init__(
        self,
        cfg: RuntimeSettings,
        shore: KafkaCluster,
        emu: LinkEmulator,
        supervisor: LinkSupervisor,
        *,
        telemetry: bool,
    ) -> None:
        self.cfg = cfg
        self.shore = shore
        self.emu = emu
        self.supervisor = supervisor
        self.telemetry = telemetry
        self.store = SecurityStore(cfg.home)
        self.runtime = kafka_runtime(cfg)
        self._refused: set[str] = set()

    def __call__(self) -> None:
        present = {c.name: c for c in linked_vessels(self.cfg)}
        for gone in set(self.supervisor.links) - set(present):
            self.supervisor.remove(gone)
            self.emu.detach(gone)
            console.print(f"{gone}: unlinked (its cluster is gone)")
        for name, cluster in sorted(present.items()):
            if name not in self.supervisor.links and cluster.live_nodes() == set(cluster.node_ids):
                self._link(cluster)

    def _link(self, vessel: KafkaCluster) -> None:
        credentials = None
        if self.shore.state.security is not None or vessel.state.security is not None:
            if not self.store.has_principal(vessel.name):
                if vessel.name not in self._refused:
                    console.print(f"[yellow]{vessel.name} has no credentials: not linked")
                    self._refused.add(vessel.name)
                return
            credentials = security.auth(self.store, vessel.name)
        try:
            link = vessel_link(
                self.runtime,
                connect_dir(self.cfg.home),
                self.emu,
                vessel,
                self.shore,
                downlink_port=free_ports(1)[0],
                telemetry=self.telemetry,
                credentials=credentials,
            )
        except (FleetEdgeError, KafkaException) as exc:
            console.print(f"[yellow]{vessel.name}: not linked yet ({exc}); trying again")
            return
        self._refused.discard(vessel.name)
        self.supervisor.add(link)
        console.print(f"{vessel.name}: linked")


def build_supervisor(
    cfg: RuntimeSettings, shore_name: str, *, connect: list[str], free: bool, telemetry: bool
) -> tuple[LinkEmulator, LinkSupervisor, VesselSync]:
    runtime = kafka_runtime(cfg)
    shore = KafkaCluster.open(shore_name, home=cfg.home, runtime=runtime)
    emu = emulator(cfg, free_ports(1)[0] if free else None)
    emu.start()
    create_topic(
        shore.bootstrap_servers,
        topics.FLEET_LINK.name,
        partitions=topics.FLEET_LINK.partitions,
        replication_factor=shore.replication_factor,
        config={
            **topics.FLEET_LINK.config,
            "min.insync.replicas": str(min(2, shore.replication_factor)),
        },
    )
    reporter = LinkReporter(shore.bootstrap_servers, emulator_dir(cfg.home))
    # A loaded two-core machine can take a minute or two to get a new task mirroring: a stall
    # is judged after three.
    supervisor = LinkSupervisor([], ConnectRest(connect), reporter=reporter, stall_after=180.0)
    sync = VesselSync(cfg, shore, emu, supervisor, telemetry=telemetry)
    sync()
    return emu, supervisor, sync


RUN_PID = "run.pid"


def spawn_detached(cfg: RuntimeSettings, *, free_ports: bool) -> int:
    """Start ``fleet link run`` in the background (``fleet up --detach``); its pid is recorded."""
    directory = emulator_dir(cfg.home)
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "fleetedge.cli", "--log-json", "link", "run"]
    if free_ports:
        command.append("--free-ports")
    else:
        command += ["--metrics-port", str(LINK_METRICS_PORT)]
    with (directory / "run.log").open("ab") as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    (directory / RUN_PID).write_text(str(proc.pid))
    return proc.pid


def stop_link(cfg: RuntimeSettings) -> None:
    """Stop the detached supervisor, every Connect worker and downlink, and the emulator."""
    directory = emulator_dir(cfg.home)
    pid_file = directory / RUN_PID
    if pid_file.exists():
        pid = int(pid_file.read_text())
        with contextlib.suppress(psutil.NoSuchProcess):
            if "link" in psutil.Process(pid).cmdline():
                send_signal(pid, signal.SIGTERM)
                wait_gone(pid, 60)
        pid_file.unlink()
    for pid in find_processes(directory):
        send_signal(pid, signal.SIGKILL)
        wait_gone(pid, 30)
    if (directory / "emulator.json").exists():
        binary = ToxiproxyBinary(cfg.cache_dir.parent)
        LinkEmulator(directory, binary.path, EMULATOR_API_PORT).stop()


ConnectOpt = Annotated[
    list[str] | None,
    typer.Option("--connect", help="a Connect worker's REST URL (repeat for each worker)"),
]


@app.command()
@fails_cleanly
def worker(
    rest_port: Annotated[int, typer.Option(help="the worker's REST port on 127.0.0.1")],
    name: Annotated[str, typer.Option(help="the worker's name (its directory)")] = "connect-1",
    shore: ShoreOpt = "shore",
) -> None:
    """Run one worker of the shore's Kafka Connect cluster, in the foreground (it becomes the
    JVM). A secured shore's worker presents the principal of FLEET_KAFKA_CREDENTIALS."""
    cfg = settings()
    runtime = kafka_runtime(cfg)
    shore_cluster = KafkaCluster.open(shore, home=cfg.home, runtime=runtime)
    java: dict[str, str] = {}
    credentials = os.environ.get(CREDENTIALS_ENV)
    if shore_cluster.state.security is not None and credentials:
        java = load_credentials_file(Path(credentials))[1].java()
    connect = ConnectSettings(
        shore_cluster.bootstrap_servers, shore_cluster.replication_factor, java
    )
    ConnectWorker(runtime, connect_dir(cfg.home) / name, connect, rest_port).exec()


@app.command()
@fails_cleanly
def run(
    shore: ShoreOpt = "shore",
    connect: ConnectOpt = None,
    free_ports_: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
    telemetry: Annotated[bool, typer.Option(help="mirror raw telemetry too")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus metrics port")] = None,
) -> None:
    """Run every vessel's link: the emulator, the connectors on Connect, each downlink, and
    their watch, until Ctrl-C."""
    cfg = settings()
    emu, supervisor, sync = build_supervisor(
        cfg, shore, connect=connect or fleet_connect_urls(cfg), free=free_ports_,
        telemetry=telemetry,
    )  # fmt: skip
    stop = until_signalled(metrics_port)
    names = ", ".join(supervisor.links) or "no vessel"
    console.print(f"link running for {names}; Ctrl-C stops it")
    try:
        supervisor.run(stop, on_round=sync)
    finally:
        supervisor.close()
    console.print(f"link stopped; the emulator keeps running on port {emu.state.api_port}")


@app.command()
@fails_cleanly
def cut(vessel: VesselArg) -> None:
    """Cut the vessel's link: open connections close, new ones are refused."""
    emulator(settings()).cut(vessel)
    out.print(f"{vessel}: link cut")


@app.command()
@fails_cleanly
def restore(vessel: VesselArg) -> None:
    """Restore the vessel's link."""
    emulator(settings()).restore(vessel)
    out.print(f"{vessel}: link restored")


@app.command()
@fails_cleanly
def shape(
    vessel: VesselArg,
    kbps: Annotated[int | None, typer.Option(min=1, help="bandwidth each way, kbit/s")] = None,
    latency_ms: Annotated[int, typer.Option(min=0, help="added round trip, ms")] = 0,
    jitter_ms: Annotated[int, typer.Option(min=0, help="jitter on the round trip, ms")] = 0,
) -> None:
    """Shape the link (no options: lift every limit)."""
    emulator(settings()).shape(vessel, Shape(kbps=kbps, latency_ms=latency_ms, jitter_ms=jitter_ms))
    out.print(f"{vessel}: kbps={kbps or 'unlimited'} latency={latency_ms}ms jitter={jitter_ms}ms")


@app.command()
@fails_cleanly
def flap(
    vessel: VesselArg,
    every: Annotated[float, typer.Option(min=0.5, help="seconds between cut and restore")] = 10,
    for_: Annotated[float, typer.Option("--for", min=1, help="seconds to keep flapping")] = 120,
) -> None:
    """Cut and restore the link every EVERY seconds for a while; it ends restored."""
    stop = until_signalled()
    flips = emulator(settings()).flap(vessel, every=every, duration=for_, stop=stop)
    out.print(f"{vessel}: flapped {flips} times; link restored")


@app.command()
@fails_cleanly
def status(
    vessel: Annotated[str | None, typer.Argument(help="one vessel; default all")] = None,
    shore: ShoreOpt = "shore",
    connect: ConnectOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    sample: Annotated[
        float, typer.Option(help="seconds between two looks, for the drain rate")
    ] = 2.0,
) -> None:
    """Per vessel: link state, its connectors and downlink, backlog, its age, drain rate, last
    heartbeat."""
    cfg = settings()
    rest = ConnectRest(connect or fleet_connect_urls(cfg), timeout=10)
    try:
        states = rest.connectors()
    except ConnectRestError as exc:
        console.print(f"[yellow]{exc.message}")
        states = {}
    runtime = kafka_runtime(cfg)
    shore_cluster = KafkaCluster.open(shore, home=cfg.home, runtime=runtime)
    emu = emulator(cfg)
    reports = []
    for cluster in linked_vessels(cfg):
        if vessel is not None and cluster.name != vessel:
            continue
        tracker = DrainTracker()
        health = tracker.update(
            measure(
                cluster.name, cluster.bootstrap_servers, shore_cluster.bootstrap_servers, UPLINKS
            )
        )
        if sample > 0:
            time.sleep(sample)  # two looks a moment apart give the drain rate
            health = tracker.update(
                measure(
                    cluster.name,
                    cluster.bootstrap_servers,
                    shore_cluster.bootstrap_servers,
                    UPLINKS,
                )
            )
        link = emu.link(cluster.name)
        report = {
            "vessel": cluster.name,
            "link": "cut"
            if emu.running() and emu.is_cut(cluster.name)
            else ("up" if emu.running() else "emulator down"),
            "shape": link.shape.model_dump(),
            "connectors": {
                name: states[name].state if name in states else "absent"
                for name in connector_names(cluster.name)
            },
            "tasks": {
                name: [f"{t.state}@{t.worker}" for t in states[name].tasks]
                for name in connector_names(cluster.name)
                if name in states
            },
            "downlink": bool(find_processes(connect_dir(cfg.home) / cluster.name / DOWNLINK.name)),
            **health.as_dict(),
        }
        reports.append(report)
    if as_json:
        typer.echo(json.dumps(reports, indent=2, default=str))
        return
    for r in reports:
        out.print(
            f"[bold]{r['vessel']}[/] link {r['link']}  connectors {r['connectors']}  "
            f"downlink {'up' if r['downlink'] else 'down'}\n"
            f"  backlog {r['backlog_records']} records (~{r['backlog_bytes']} B), oldest "
            f"{_secs(r['oldest_unmirrored_age_s'])}, drain {r['drain_rate_rps'] or 0:.1f}/s, "
            f"eta {_secs(r['eta_s'])}, last heartbeat {_secs(r['last_heartbeat_age_s'])} ago, "
            f"lost to retention {r['lost_to_retention']}"
        )


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"
