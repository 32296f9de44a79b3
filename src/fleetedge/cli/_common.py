"""What every ``fleet`` sub-command shares: settings, the runtime, errors, status rendering."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from prometheus_client import start_http_server
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fleetedge.devices import manifest
from fleetedge.exceptions import FleetEdgeError
from fleetedge.runtime import ClusterStatus, KafkaJars, KafkaRuntime, find_java
from fleetedge.settings import RuntimeSettings

# soft_wrap: messages carry paths and commands that must survive copy-paste unbroken.
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> RuntimeSettings:
    return RuntimeSettings()


def kafka_runtime(cfg: RuntimeSettings) -> KafkaRuntime:
    """Java and fetched jars, or the error that says what is missing."""
    java = find_java(cfg.java)
    jars = KafkaJars(cfg.cache_dir).require()
    return KafkaRuntime(java=java, jars=jars, heap_mb=cfg.broker_heap_mb)


EXIT_TRY_AGAIN = 75  # sysexits' EX_TEMPFAIL: the same command may succeed later


def fails_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a FleetEdgeError into its message and hint on stderr and exit code 1; a retriable
    one (something still starting or moving) says "try again" and exits with 75 (EX_TEMPFAIL)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except FleetEdgeError as exc:
            console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            if exc.hint:
                console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
            if exc.retriable:
                console.print("[yellow]try again:[/] this is temporary", highlight=False)
                raise typer.Exit(EXIT_TRY_AGAIN) from exc
            raise typer.Exit(1) from exc

    return wrapper


@contextmanager
def progress(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner whose text follows the steps of long work (plain lines when not a terminal)."""
    if not sys.stderr.isatty():
        console.print(escape(message), highlight=False)
        yield lambda step: console.print(f"  {escape(step)}", highlight=False)
        return
    with console.status(message) as status:
        yield lambda step: status.update(escape(f"{message}: {step}"))


def status_table(st: ClusterStatus) -> Table:
    health = "[green]healthy[/]" if st.healthy else "[red]degraded[/]"
    leader = st.quorum_leader if st.quorum_leader is not None else "[red]none[/]"
    table = Table(
        title=f"{st.name}  {health}  quorum leader {leader} (epoch {st.quorum_epoch})",
        caption=f"bootstrap {st.bootstrap_servers} · {st.topics} topics · "
        f"{len(st.under_replicated)} under-replicated partitions · data {st.directory}",
    )
    for column in ("node", "pid", "process", "broker", "broker port", "controller port"):
        table.add_column(column)
    for n in st.nodes:
        table.add_row(
            str(n.id),
            str(n.pid or "-"),
            "[green]running[/]" if n.alive else "[red]stopped[/]",
            "registered" if n.registered else "[red]not registered[/]",
            str(n.broker_port),
            str(n.controller_port),
        )
    return table


def print_status(statuses: list[ClusterStatus], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    for st in statuses:
        out.print(status_table(st))
        if st.under_replicated:
            out.print("under-replicated: " + ", ".join(st.under_replicated[:20]))


def until_signalled(metrics_port: int | None = None) -> threading.Event:
    """For long-running commands: serve Prometheus metrics on 127.0.0.1 if asked, and return
    an event that SIGINT or SIGTERM sets, so the command can finish cleanly."""
    if metrics_port is not None:
        start_http_server(metrics_port, addr=settings().metrics_host)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def reefer_manifest(
    vessel: str, manifest_file: Path | None, containers: int, seed: int
) -> list[str]:
    """The vessel's reefer container ids: from a file (one per line), else the simulator's."""
    if manifest_file is not None:
        return [line.strip() for line in manifest_file.read_text().splitlines() if line.strip()]
    return [entry.container_id for entry in manifest(vessel, containers, seed, 0.0)]


def stop_when(stop: threading.Event, service_stop: Callable[[], None]) -> None:
    """Call ``service_stop`` once ``stop`` is set (from a daemon thread)."""

    def wait_then_stop() -> None:
        stop.wait()
        service_stop()

    threading.Thread(target=wait_then_stop, daemon=True).start()
