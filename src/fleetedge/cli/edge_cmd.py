"""``fleet edge``: the vessel's stream processor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import (
    console,
    fails_cleanly,
    out,
    reefer_manifest,
    stop_when,
    until_signalled,
)
from fleetedge.edge.backfill import Resender
from fleetedge.edge.commands import CommandHandler
from fleetedge.edge.logic import EdgeLogic, EdgeTopics
from fleetedge.edge.service import BATCH, EdgeService
from fleetedge.edge.windows import WindowConfig
from fleetedge.events import ReadingValidator
from fleetedge.events.topics import COMMAND_ACKS, CONTROLS
from fleetedge.link.mirror import commands_topic
from fleetedge.runtime.health import create_topic, metadata

app = typer.Typer(help="The vessel's edge processor.", no_args_is_help=True)


def topics_with_prefix(prefix: str) -> EdgeTopics:
    base = EdgeTopics()
    return EdgeTopics(**{name: prefix + value for name, value in vars(base).items()})


@app.command()
@fails_cleanly
def run(
    vessel: Annotated[str, typer.Option(help="vessel id, e.g. vessel-1")],
    bootstrap: Annotated[str, typer.Option(help="the vessel cluster's bootstrap servers")],
    manifest_file: Annotated[Path | None, typer.Option("--manifest", help="container ids")] = None,
    containers: Annotated[int, typer.Option(help="else: the simulator's manifest of N")] = 200,
    seed: Annotated[int, typer.Option(help="the simulator manifest's seed")] = 1,
    window_minutes: Annotated[int, typer.Option(min=1, max=60)] = 15,
    grace_minutes: Annotated[int, typer.Option(min=0, max=120)] = 5,
    interval_seconds: Annotated[int, typer.Option(help="devices' reading interval")] = 60,
    topic_prefix: Annotated[str, typer.Option(help="prefix of every topic name")] = "",
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus metrics")] = None,
    exit_when_idle: Annotated[bool, typer.Option(help="stop once caught up")] = False,
    batch: Annotated[
        int, typer.Option(min=1, help="readings per transaction at most (a backlog's batch)")
    ] = BATCH,
) -> None:
    """Window aggregates, correlated alerts and dead letters, exactly once."""
    known = reefer_manifest(vessel, manifest_file, containers, seed)
    topics = topics_with_prefix(topic_prefix)
    window = WindowConfig(
        size=timedelta(minutes=window_minutes),
        grace=timedelta(minutes=grace_minutes),
        reading_interval=timedelta(seconds=interval_seconds),
    )
    # Event times are judged by the data, not the wall clock: a replay of old data is valid.
    validator = ReadingValidator(vessel, known, max_future=timedelta(days=36500))
    logic = EdgeLogic(vessel, validator, topics=topics, window=window)
    service = EdgeService(
        logic,
        bootstrap=bootstrap,
        group_id=f"{topic_prefix}edge-{vessel}",
        transactional_id=f"{topic_prefix}edge-{vessel}",
        batch=batch,
    )
    service.ensure_topics(min(3, len(metadata(bootstrap, timeout=10).brokers)))
    stop = until_signalled(metrics_port)
    service.start()
    console.print(f"edge of {vessel} running on {topics.telemetry}")
    try:
        while not stop.is_set():
            if service.step() == 0 and exit_when_idle and service.caught_up():
                break
    finally:
        service.close()
    c = logic.counters
    out.print(
        f"processed {c.processed}, dead letters {c.dead_letters} "
        f"(late {c.late}, duplicates {c.duplicates})"
    )


@app.command()
@fails_cleanly
def resend(
    vessel: Annotated[str, typer.Option(help="vessel id, e.g. vessel-1")],
    bootstrap: Annotated[str, typer.Option(help="the vessel cluster's bootstrap servers")],
    window_minutes: Annotated[int, typer.Option(min=1, max=60)] = 15,
    grace_minutes: Annotated[int, typer.Option(min=0, max=120)] = 5,
    topic_prefix: Annotated[str, typer.Option(help="prefix of every topic name")] = "",
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus metrics")] = None,
) -> None:
    """Answer the shore's backfill requests with windows rebuilt from raw telemetry."""
    topics = topics_with_prefix(topic_prefix)
    resender = Resender(
        vessel,
        bootstrap,
        commands_topic=f"{topic_prefix}shore.{commands_topic(vessel)}",
        telemetry_topic=topics.telemetry,
        aggregates_topic=topics.aggregates,
        acks_topic=f"{topic_prefix}vessel.command_acks",
        window=WindowConfig(
            size=timedelta(minutes=window_minutes), grace=timedelta(minutes=grace_minutes)
        ),
    )
    stop = until_signalled(metrics_port)
    with resender:
        stop_when(stop, resender.stop)
        console.print(f"resender of {vessel} answering {resender.commands_topic}")
        resender.run()
    out.print(f"answered {resender.answered} backfill commands")


@app.command()
@fails_cleanly
def commands(
    vessel: Annotated[str, typer.Option(help="vessel id, e.g. vessel-1")],
    bootstrap: Annotated[str, typer.Option(help="the vessel cluster's bootstrap servers")],
    topic_prefix: Annotated[str, typer.Option(help="prefix of every topic name")] = "",
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus metrics")] = None,
) -> None:
    """Deliver the shore's commands to the reefer controllers, each once, or refuse them."""
    replication = min(3, len(metadata(bootstrap, timeout=10).brokers))
    for spec in (COMMAND_ACKS, CONTROLS):
        create_topic(
            bootstrap,
            topic_prefix + spec.name,
            partitions=spec.partitions,
            replication_factor=replication,
            config=spec.config,
        )
    handler = CommandHandler(
        vessel,
        bootstrap,
        commands_topic=f"{topic_prefix}shore.{commands_topic(vessel)}",
        acks_topic=topic_prefix + COMMAND_ACKS.name,
        controls_topic=topic_prefix + CONTROLS.name,
    )
    stop = until_signalled(metrics_port)
    with handler:
        stop_when(stop, handler.stop)
        console.print(f"command handler of {vessel} answering {handler.commands_topic}")
        handler.run()
    out.print(f"answered {handler.handled} commands")
