"""``fleet simulate``: a vessel's reefers producing telemetry into its cluster."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fleetedge.cli._common import console, fails_cleanly, out, until_signalled
from fleetedge.devices import FaultRates, TelemetryProducer, VesselSimulator, parse_script, run
from fleetedge.devices.exceptions import ScriptError
from fleetedge.devices.faults import parse_duration
from fleetedge.devices.live import LiveFaults
from fleetedge.devices.modem import Modem
from fleetedge.devices.resume import fast_forward, last_seqs
from fleetedge.events import CODECS
from fleetedge.events.topics import COMMAND_ACKS, CONTROLS, TELEMETRY
from fleetedge.runtime.health import create_topic, metadata

log = structlog.get_logger("fleetedge.devices")


@fails_cleanly
def simulate(
    vessel: Annotated[str, typer.Option(help="vessel id, e.g. vessel-1")],
    bootstrap: Annotated[str, typer.Option(help="the vessel cluster's bootstrap servers")],
    containers: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    interval: Annotated[float, typer.Option(help="simulated seconds between readings")] = 60,
    speedup: Annotated[float, typer.Option(help="simulated/real time; 0 = flat out")] = 60,
    duration: Annotated[str, typer.Option(help="simulated time to run, e.g. 10h")] = "1h",
    seed: Annotated[int, typer.Option(help="same seed, same readings")] = 1,
    start: Annotated[str | None, typer.Option(help="simulated start, ISO 8601 UTC")] = None,
    encoding: Annotated[str, typer.Option(help="json or binary")] = "json",
    faults: Annotated[Path | None, typer.Option(help="fault script file")] = None,
    live_faults: Annotated[
        Path | None, typer.Option(help="file of faults appended while running (fleet chaos fault)")
    ] = None,
    random_faults: Annotated[bool, typer.Option(help="random faults at default rates")] = True,
    commands: Annotated[
        bool, typer.Option(help="the reefer controllers take commands from reefer.controls")
    ] = False,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus metrics")] = None,
    resume: Annotated[
        bool, typer.Option(help="go on after the readings already in the topic (needs --start)")
    ] = False,
) -> None:
    """Produce a vessel's reefer readings with an idempotent acks=all producer."""
    if encoding not in CODECS:
        raise typer.BadParameter(f"encoding must be one of {', '.join(CODECS)}")
    began = (
        datetime.fromisoformat(start)
        if start
        else datetime.now(UTC).replace(second=0, microsecond=0)
    )
    if resume and start is None:
        raise typer.BadParameter("--resume needs the --start of the run it resumes")
    if began.tzinfo is None:
        raise typer.BadParameter("--start needs a timezone, e.g. 2026-11-01T00:00:00+00:00")
    sim = VesselSimulator(
        vessel,
        containers,
        seed=seed,
        start=began,
        interval=timedelta(seconds=interval),
        rates=FaultRates() if random_faults else FaultRates.none(),
        script=parse_script(faults.read_text()) if faults else None,
    )
    brokers = len(metadata(bootstrap, timeout=10).brokers)
    for spec in (TELEMETRY, CONTROLS, COMMAND_ACKS) if commands else (TELEMETRY,):
        create_topic(
            bootstrap,
            spec.name,
            partitions=spec.partitions,
            replication_factor=min(3, brokers),
            config=spec.config,
        )
    modem = Modem(vessel, bootstrap) if commands else None
    if modem is not None:
        # Always learn what was answered (none is answered twice); replay it only on resume.
        applied = modem.history()
        for tick, command in applied if resume else ():
            sim.replay(tick, command.container_id or "", command.action, command.params)
    missing = []
    if resume:
        missing = fast_forward(sim, last_seqs(bootstrap, TELEMETRY.name, vessel, containers))
        if sim.tick:
            console.print(f"resuming after tick {sim.tick}: {len(missing)} readings to re-send")
    stop = until_signalled(metrics_port)
    live = LiveFaults(live_faults) if live_faults else None

    def on_tick(tick: int, _total: int) -> None:
        progress.update(task, completed=tick * containers)
        for fault in live.poll() if live else ():
            try:
                sim.schedule(fault)
                log.info("live fault scheduled", vessel=vessel, fault=str(fault.target),
                         kind=fault.kind.value)  # fmt: skip
            except ScriptError as exc:
                log.warning("live fault skipped", vessel=vessel, error=exc.message)
        for ack in modem.serve(sim) if modem else ():
            log.info("command answered", vessel=vessel, container=ack.container_id,
                     status=ack.status.value, reason=ack.reason)  # fmt: skip

    columns = (
        TextColumn(f"{vessel}: {containers} reefers"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("readings"),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, console=console, disable=not console.is_terminal) as progress,
        TelemetryProducer(bootstrap, TELEMETRY.name, CODECS[encoding]) as producer,
        modem or nullcontext(),
    ):
        for reading in missing:
            producer.send(reading)
        task = progress.add_task(
            "simulate", total=int(parse_duration(duration) / sim.interval) * containers
        )
        stats = run(
            sim,
            producer,
            duration=parse_duration(duration),
            speedup=speedup,
            on_tick=on_tick,
            should_stop=stop.is_set,
        )
    out.print(
        f"{stats.readings} readings of {containers} reefers over {stats.ticks} intervals, "
        f"{stats.acked} acknowledged, {stats.readings_per_second:,.0f} readings/s"
    )
