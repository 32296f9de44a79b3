"""``fleet link``: the ship-to-shore link of every vessel (emulator, MirrorMaker 2, health)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from typing import Annotated

import psutil
import typer

from fleetedge.cli._common import (
    console,
    fails_cleanly,
    kafka_runtime,
    out,
    settings,
    until_signalled,
)
from fleetedge.events import topics
from fleetedge.link.emulator import LinkEmulator, Shape, emulator_dir
from fleetedge.link.health import DrainTracker, measure
from fleetedge.link.mirror import FLOWS, UPLINKS, internal_topic
from fleetedge.link.reports import LinkReporter
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, list_clusters
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.jvm import find_processes, send_signal, wait_gone
from fleetedge.runtime.ports import free_ports
from fleetedge.security import fleet as security
from fleetedge.security.store import SecurityStore
from fleetedge.settings import RuntimeSettings

app = typer.Typer(help="The emulated satellite link and MirrorMaker 2.", no_args_is_help=True)

# The demo's fixed ports (see the README): Toxiproxy's API, then three MirrorMaker 2 REST ports
# per vessel, then the link supervisor's metrics.
EMULATOR_API_PORT = 18100
MM2_REST_BASE = 18200
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


def build_supervisor(
    cfg: RuntimeSettings, shore_name: str, *, free: bool, telemetry: bool
) -> tuple[LinkEmulator, LinkSupervisor]:
    runtime = kafka_runtime(cfg)
    shore = KafkaCluster.open(shore_name, home=cfg.home, runtime=runtime)
    emu = emulator(cfg, free_ports(1)[0] if free else None)
    emu.start()
    links = []
    store = SecurityStore(cfg.home)
    for index, vessel in enumerate(linked_vessels(cfg)):
        base = MM2_REST_BASE + len(FLOWS) * index
        ports = free_ports(len(FLOWS)) if free else [base + k for k in range(len(FLOWS))]
        credentials = None
        if shore.state.security is not None or vessel.state.security is not None:
            if not store.has_principal(vessel.name):
                console.print(f"[yellow]{vessel.name} has no credentials (revoked?): not linked")
                continue
            credentials = security.auth(store, vessel.name)
        links.append(
            vessel_link(
                runtime,
                emulator_dir(cfg.home) / "mm2",
                emu,
                vessel,
                shore,
                rest_ports=ports,
                telemetry=telemetry,
                credentials=credentials,
            )
        )
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
    # MirrorMaker 2 can take minutes to start mirroring on a loaded two-core machine: a stall
    # is judged after three, not one and a half.
    return emu, LinkSupervisor(links, reporter=reporter, stall_after=180.0)


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
    """Stop the detached supervisor, every MirrorMaker 2 and the emulator of ``cfg.home``."""
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


@app.command()
@fails_cleanly
def run(
    shore: ShoreOpt = "shore",
    free_ports_: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
    telemetry: Annotated[bool, typer.Option(help="mirror raw telemetry too")] = False,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus metrics port")] = None,
) -> None:
    """Run every vessel's link: the emulator, MirrorMaker 2 and its supervisor, until Ctrl-C."""
    cfg = settings()
    emu, supervisor = build_supervisor(cfg, shore, free=free_ports_, telemetry=telemetry)
    stop = until_signalled(metrics_port)
    names = ", ".join(link.vessel for link in supervisor.links) or "no vessel"
    console.print(f"link running for {names}; Ctrl-C stops it")
    try:
        supervisor.run(stop)
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
    sample: Annotated[
        float, typer.Option(help="seconds between two looks, for the drain rate")
    ] = 2.0,
) -> None:
    """Per vessel: link state, MirrorMaker 2, backlog, its age, drain rate, last heartbeat."""
    cfg = settings()
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
            "mirrormaker": {
                flow.name: bool(
                    find_processes(emulator_dir(cfg.home) / "mm2" / cluster.name / flow.name)
                )
                for flow in FLOWS
            },
            "status_topics": [internal_topic(cluster.name, f, "status") for f in FLOWS],
            **health.as_dict(),
        }
        reports.append(report)
    if as_json:
        typer.echo(json.dumps(reports, indent=2, default=str))
        return
    for r in reports:
        out.print(
            f"[bold]{r['vessel']}[/] link {r['link']}  mm2 {r['mirrormaker']}\n"
            f"  backlog {r['backlog_records']} records (~{r['backlog_bytes']} B), oldest "
            f"{_secs(r['oldest_unmirrored_age_s'])}, drain {r['drain_rate_rps'] or 0:.1f}/s, "
            f"eta {_secs(r['eta_s'])}, last heartbeat {_secs(r['last_heartbeat_age_s'])} ago, "
            f"lost to retention {r['lost_to_retention']}"
        )


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"
