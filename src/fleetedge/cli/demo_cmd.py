"""``fleet demo``: ``fleet up``, then the story of an outage and its recovery, told as it
happens; then the dashboard stays up until Ctrl-C (``--no-wait``: stop after the story)."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Annotated

import typer

from fleetedge.cli._common import console, fails_cleanly, out, settings, until_signalled
from fleetedge.cli.fleet_cmd import launch, print_ready, supervise
from fleetedge.orchestration.chaos import Chaos
from fleetedge.orchestration.exceptions import StoryError
from fleetedge.orchestration.plan import SUPERVISOR_METRICS_PORT, FleetOptions
from fleetedge.orchestration.state import Snapshot
from fleetedge.orchestration.story import Story


@fails_cleanly
def demo(
    vessels: Annotated[int, typer.Option(min=1, max=9)] = 2,
    containers: Annotated[int, typer.Option(min=1, max=2000)] = 200,
    speedup: Annotated[float, typer.Option(help="simulated/real time")] = 60.0,
    outage: Annotated[float, typer.Option(help="seconds the link stays cut")] = 45.0,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="stop after the story")] = False,
    free_ports: Annotated[bool, typer.Option("--free-ports", help="any free ports")] = False,
) -> None:
    """Run the fleet and tell the outage-and-recovery story on it."""
    cfg = settings()
    stop = until_signalled(None if free_ports else SUPERVISOR_METRICS_PORT)
    fleet = launch(FleetOptions(vessels, containers, speedup, free_ports=free_ports))
    began = time.monotonic()

    def say(line: str) -> None:
        out.print(f"[{time.monotonic() - began:6.1f}s] {line}", highlight=False)
        out.file.flush()

    rounds = threading.Event()
    supervisor = supervise(fleet, rounds)
    try:
        print_ready(fleet, cfg)
        _check_dashboard(fleet.plan.api_url)
        say("the dashboard answers")
        story = Story(fleet.plan, fleet.clusters, Chaos(cfg), say, outage_s=outage, stop=stop)
        result = story.tell()
        if not (result.nothing_lost and result.replay_equal):
            raise StoryError("the story ended with records missing or a replay that differs")
        _no_service_exited(fleet.supervisor.snapshot(), say)
        _check_dashboard(fleet.plan.api_url)
        say(f"the story is told; the dashboard is still up at {fleet.plan.api_url}/")
        if not no_wait:
            console.print("Ctrl-C stops the fleet")
            stop.wait()
    finally:
        rounds.set()
        supervisor.join()
        fleet.stop(cfg)


def _no_service_exited(snapshot: Snapshot, say: Callable[[str], None]) -> None:
    """Every service ran the whole story: none exited and was restarted (a broker killed by
    the story is a node, not a service). Services retry what is temporary; an exit is a fault."""
    exited = [
        f"{s.name} ({s.restarts} restarts, last exit {s.last_exit})"
        for s in snapshot.services
        if s.restarts
    ]
    if exited:
        say(f"   services that exited: {', '.join(exited)}")
        raise StoryError(f"{len(exited)} services exited during the story")
    say(f"   all {len(snapshot.services)} services ran the whole story without an exit")


def _check_dashboard(url: str) -> None:
    with urllib.request.urlopen(f"{url}/", timeout=10) as response:  # noqa: S310 - 127.0.0.1
        page = response.read().decode()
    if response.status != 200 or "FleetEdge" not in page:
        raise StoryError(f"the dashboard at {url}/ did not answer as expected")
