"""``fleet replay``: rebuild read models and analytics state from the events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from fleetedge.cli._common import console, fails_cleanly, out, until_signalled
from fleetedge.events import topics as t
from fleetedge.projections import digest, open_database, rebuild
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.base import check_name
from fleetedge.projections.projector import end_offsets
from fleetedge.runtime.health import metadata
from fleetedge.shore import AnalyticsConfig, FleetAnalytics, await_topics, ensure_topics

app = typer.Typer(help="Rebuild read models and analytics state by replaying the events.")


@app.command()
@fails_cleanly
def projection(
    name: Annotated[str, typer.Argument(help="the read model, e.g. fleet")],
    bootstrap: Annotated[str, typer.Option(help="the shore cluster's bootstrap servers")],
    database: Annotated[str, typer.Option(help="sqlite:///PATH or postgresql://...")],
    deadline: Annotated[float, typer.Option(help="give up after this many seconds")] = 600.0,
) -> None:
    """Rebuild NAME into a new table set from the earliest offsets, then swap it in whole."""
    check_name(name)
    total = sum(end_offsets(bootstrap, projection_rows.TOPICS).values())
    db = open_database(database)
    try:
        with Progress(
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"replaying {name}", total=total)
            result = rebuild(
                db,
                bootstrap,
                name,
                deadline_s=deadline,
                on_progress=lambda n: bar.update(task, completed=n),
            )
        out.print(
            f"{name}: generation {result.generation} swapped in for {result.previous} after "
            f"{result.records} records in {result.seconds:.1f}s ({result.rate:,.0f}/s); "
            f"digest {digest(db, result.generation)[:16]}"
        )
    finally:
        db.close()


@app.command()
@fails_cleanly
def analytics(
    bootstrap: Annotated[str, typer.Option(help="the shore cluster's bootstrap servers")],
    group: Annotated[str, typer.Option(help="the new group: fresh state and internal topics")],
    state_dir: Annotated[Path, typer.Option(help="the new group's RocksDB state")],
    idle: Annotated[float, typer.Option(help="done after this many seconds with no input")] = 10.0,
    kpis_topic: Annotated[
        str, typer.Option(help="where the vessels' KPI partials go")
    ] = t.FLEET_KPIS.name,
    completeness_topic: Annotated[str, typer.Option(help="where completeness goes")] = (
        "fleet.completeness"
    ),
) -> None:
    """Rebuild every state store from the earliest offsets under a new consumer group.

    Stop the live workers first: both generations write fleet.kpi-partials and fleet.completeness,
    and the last writer wins. Then start the workers with ``--group GROUP``.
    """
    rf = min(3, len(metadata(bootstrap, timeout=10).brokers))
    config = AnalyticsConfig(
        bootstrap,
        state_dir,
        group,
        replication_factor=rf,
        kpis_topic=kpis_topic,
        completeness_topic=completeness_topic,
    )
    ensure_topics(config)
    await_topics(config)
    stop = until_signalled()
    worker = FleetAnalytics(config)
    worker.run(stop, timeout=idle)
    out.print(f"analytics rebuilt under group {group}")
