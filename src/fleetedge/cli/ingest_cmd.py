"""``fleet ingest``: real devices into a vessel's telemetry topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import (
    console,
    fails_cleanly,
    out,
    reefer_manifest,
    until_signalled,
)
from fleetedge.events import ReadingValidator
from fleetedge.events.topics import TELEMETRY, TELEMETRY_DLQ
from fleetedge.ingest import MqttBridge
from fleetedge.runtime.health import create_topic, metadata

app = typer.Typer(help="Bridge real devices into a vessel's Kafka cluster.", no_args_is_help=True)


@app.command()
@fails_cleanly
def mqtt(
    vessel: Annotated[str, typer.Option(help="vessel id, e.g. vessel-1")],
    bootstrap: Annotated[str, typer.Option(help="the vessel cluster's bootstrap servers")],
    mqtt_port: Annotated[int, typer.Option(help="the vessel's MQTT broker on 127.0.0.1")] = 1883,
    manifest_file: Annotated[
        Path | None, typer.Option("--manifest", help="reefer container ids, one per line")
    ] = None,
    containers: Annotated[int, typer.Option(help="else: the simulator's manifest of N")] = 200,
    seed: Annotated[int, typer.Option(help="the simulator manifest's seed")] = 1,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus metrics")] = None,
) -> None:
    """Forward device readings from fleet/<vessel>/reefer/+/telemetry to reefer.telemetry;
    rejects go to reefer.telemetry.dlq with the reason."""
    known = reefer_manifest(vessel, manifest_file, containers, seed)
    rf = min(3, len(metadata(bootstrap, timeout=10).brokers))
    for spec in (TELEMETRY, TELEMETRY_DLQ):
        create_topic(
            bootstrap,
            spec.name,
            partitions=spec.partitions,
            replication_factor=rf,
            config=spec.config,
        )
    stop = until_signalled(metrics_port)
    validator = ReadingValidator(vessel, known)
    with MqttBridge(
        vessel_id=vessel, validator=validator, bootstrap=bootstrap, mqtt_port=mqtt_port
    ) as bridge:
        console.print(f"bridging MQTT :{mqtt_port} to {TELEMETRY.name} for {len(known)} reefers")
        while not stop.is_set():
            bridge.poll(0.5)
    out.print(f"{bridge.accepted} readings forwarded, {bridge.rejected} dead-lettered")
