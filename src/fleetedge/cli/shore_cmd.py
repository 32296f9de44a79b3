"""``fleet shore``: the normalizer, the fleet analytics workers, the projector and the link,
each on its own; ``fleet shore run`` runs them all (and the API) from a ``shore.toml``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from fleetedge.cli._common import (
    console,
    fails_cleanly,
    out,
    settings,
    stop_when,
    until_signalled,
)
from fleetedge.cli._roles import run_role
from fleetedge.events import topics as t
from fleetedge.projections import Projector, open_database
from fleetedge.roles import ShoreConfig, load_config
from fleetedge.roles.link import link_supervisor
from fleetedge.roles.shore import shore_role
from fleetedge.runtime.health import metadata
from fleetedge.shore import (
    AnalyticsConfig,
    Normalizer,
    await_topics,
    ensure_topics,
)
from fleetedge.shore.analytics import run_worker
from fleetedge.shore.backfill import BackfillRequester, read_completeness

app = typer.Typer(help="Shore services: normalizer, fleet analytics, projector.")

Bootstrap = Annotated[str, typer.Option(help="the shore cluster's bootstrap servers")]
MetricsPort = Annotated[int | None, typer.Option(help="serve Prometheus metrics")]
ExitWhenIdle = Annotated[
    float | None, typer.Option(help="stop after this many seconds with no input")
]


def _replication(bootstrap: str) -> int:
    return min(3, len(metadata(bootstrap, timeout=10).brokers))


@app.command()
@fails_cleanly
def run(
    config: Annotated[Path, typer.Option("--config", help="the shore's shore.toml")],
) -> None:
    """Run the shore's services (normalizer, analytics, projector, backfill, API, and the
    link when the file names a Connect cluster) under the supervisor, against the Kafka its
    file names, until Ctrl-C or SIGTERM."""
    shore = load_config(config, ShoreConfig)
    run_role(shore_role(shore, settings().home, config))


@app.command()
@fails_cleanly
def link(
    config: Annotated[Path, typer.Option("--config", help="the shore's shore.toml")],
    metrics_port: MetricsPort = None,
) -> None:
    """Carry the file's vessels on its Connect cluster (connect.urls): their uplink
    connectors, their failed tasks restarted, each link's health to fleet.link."""
    shore = load_config(config, ShoreConfig)
    state = shore.state_dir or settings().home / "shore"
    supervisor = link_supervisor(shore, state)
    stop = until_signalled(metrics_port)
    names = ", ".join(supervisor.links) or "no vessel"
    console.print(f"link running for {names} on {', '.join(shore.connect.urls)}")
    try:
        supervisor.run(stop)
    finally:
        supervisor.close(stop_processes=False)
    console.print("link stopped")


@app.command()
@fails_cleanly
def setup(bootstrap: Bootstrap, group: str = "fleet-analytics") -> None:
    """Create the fleet topics and the analytics group's internal topics."""
    ensure_topics(
        AnalyticsConfig(bootstrap, Path(), group, replication_factor=_replication(bootstrap))
    )
    out.print("shore topics ready")


@app.command()
@fails_cleanly
def normalize(
    bootstrap: Bootstrap,
    metrics_port: MetricsPort = None,
    exit_when_idle: ExitWhenIdle = None,
) -> None:
    """Admit every vessel's mirrored topics into the fleet topics; bad records to fleet.dlq."""
    ensure_topics(AnalyticsConfig(bootstrap, Path(), replication_factor=_replication(bootstrap)))
    stop = until_signalled(metrics_port)
    with Normalizer(bootstrap) as normalizer:
        stop_when(stop, normalizer.stop)
        console.print("normalizer running")
        normalizer.run(idle_timeout=exit_when_idle)
    out.print(f"accepted {normalizer.accepted}, dead-lettered {normalizer.rejected}")


@app.command()
@fails_cleanly
def analytics(
    bootstrap: Bootstrap,
    state_dir: Annotated[Path, typer.Option(help="this worker's RocksDB state")],
    group: Annotated[str, typer.Option(help="workers of one group share the work")] = (
        "fleet-analytics"
    ),
    commit_interval: Annotated[float, typer.Option(help="seconds between checkpoints")] = 1.0,
    kpis_topic: Annotated[
        str, typer.Option(help="where the vessels' KPI partials go")
    ] = t.FLEET_KPIS.name,
    completeness_topic: Annotated[str, typer.Option(help="where completeness goes")] = (
        "fleet.completeness"
    ),
    metrics_port: MetricsPort = None,
    exit_when_idle: ExitWhenIdle = None,
) -> None:
    """One fleet analytics worker (state stores, exactly-once); start N to scale out."""
    config = AnalyticsConfig(
        bootstrap,
        state_dir,
        group,
        commit_interval_s=commit_interval,
        replication_factor=_replication(bootstrap),
        kpis_topic=kpis_topic,
        completeness_topic=completeness_topic,
    )
    ensure_topics(config)
    await_topics(config)
    stop = until_signalled(metrics_port)
    run_worker(
        config,
        stop,
        timeout=exit_when_idle or 0.0,
        on_start=lambda _: console.print(f"fleet analytics worker of {group} running"),
    )


@app.command()
@fails_cleanly
def project(
    bootstrap: Bootstrap,
    database: Annotated[str, typer.Option(help="sqlite:///PATH or postgresql://...")],
    metrics_port: MetricsPort = None,
    exit_when_idle: ExitWhenIdle = None,
    batch: Annotated[int, typer.Option(help="records per database transaction")] = 2000,
    crash_in_batch: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Keep the fleet read model up to date (follows rebuilds as they swap in)."""
    db = open_database(database)
    stop = until_signalled(metrics_port)
    try:
        with Projector(db, bootstrap, batch=batch, crash_in_batch=crash_in_batch) as projector:
            stop_when(stop, projector.stop)
            console.print(f"projector writing {db} generation {projector.generation}")
            progress = projector.run(idle_timeout=exit_when_idle)
    finally:
        db.close()
    out.print(f"projected {progress.records} records in {progress.batches} batches")


@app.command()
@fails_cleanly
def gaps(bootstrap: Bootstrap) -> None:
    """List the containers whose readings have gaps ashore."""
    containers = read_completeness(bootstrap)
    holed = [c for c in containers if c.gaps]
    for c in holed:
        ranges = ", ".join(f"{lo}-{hi}" for lo, hi in c.gaps)
        out.print(f"{c.vessel_id} {c.container_id}: missing {c.missing} readings ({ranges})")
    out.print(
        f"{len(containers)} containers, {sum(c.received for c in containers)} readings ashore, "
        f"{len(holed)} with gaps, {sum(c.missing for c in holed)} readings missing"
    )


@app.command()
@fails_cleanly
def backfill(
    bootstrap: Bootstrap,
    every: Annotated[float, typer.Option(help="seconds between looks at completeness")] = 60.0,
    once: Annotated[bool, typer.Option(help="look once, request, and exit")] = False,
    cooldown_minutes: Annotated[float, typer.Option(help="ask again for a gap after")] = 10.0,
    metrics_port: MetricsPort = None,
) -> None:
    """Ask vessels to re-send the readings the shore lacks (resend commands over the link)."""
    stop = until_signalled(metrics_port)
    requester = BackfillRequester(bootstrap, cooldown=timedelta(minutes=cooldown_minutes))
    try:
        while not stop.is_set():
            sent = requester.round(bootstrap, retry_later=not once)
            if sent is None:  # a broker away or a leader moving: the next round looks again
                stop.wait(every)
                continue
            if sent or once:
                out.print(f"{len(sent)} backfill requests sent")
            if once:
                break
            stop.wait(every)
    finally:
        requester.close()
