"""``fleet runtime``: the Kafka jars and the tools they need."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer

from fleetedge.cli._common import console, fails_cleanly, out, progress, settings
from fleetedge.exceptions import FleetEdgeError
from fleetedge.link.toxiproxy import TOXIPROXY_VERSION, ToxiproxyBinary
from fleetedge.orchestration.warmup import build_class_archive
from fleetedge.runtime import KAFKA_VERSION, KafkaJars, KafkaRuntime, find_java, find_maven
from fleetedge.runtime.classes import is_current

app = typer.Typer(help="Fetch and check the Apache Kafka runtime.", no_args_is_help=True)


@app.command()
@fails_cleanly
def fetch() -> None:
    """Resolve the Kafka jars from Maven Central into the cache (once; offline afterwards)."""
    jars = KafkaJars(settings().cache_dir)
    toxiproxy = ToxiproxyBinary(settings().cache_dir.parent)
    # Go builds toxiproxy beside Maven's downloads and the class-data archive: on a fresh
    # machine each took about half a minute, one after the other.
    if not toxiproxy.is_installed():
        out.print(f"building toxiproxy {TOXIPROXY_VERSION} with go install, beside the jars")
    with ThreadPoolExecutor(1, "toxiproxy-build") as pool:
        building = pool.submit(toxiproxy.install)
        count = 0
        with progress(f"fetching Apache Kafka {KAFKA_VERSION} with Maven") as step:

            def on_artifact(name: str) -> None:
                nonlocal count
                count += 1
                step(f"[{count}] {name}")

            fetched = jars.fetch(on_artifact)
        verb = "fetched" if fetched else "already cached"
        out.print(f"Kafka {KAFKA_VERSION}: {jars.jar_count()} jars {verb} in {jars.lib_dir}")
        _class_archive(jars)
        built = building.result()
    verb = "built" if built else "already cached"
    out.print(f"toxiproxy {TOXIPROXY_VERSION}: {verb} at {toxiproxy.path}")


def _class_archive(jars: KafkaJars) -> None:
    """The Kafka JVMs' class-data archive (fleetedge.runtime.classes): they start without it,
    so a failure to build it is a warning."""
    try:
        java = find_java(settings().java)
    except FleetEdgeError as exc:  # fetched on a machine to run elsewhere: checked there
        console.print(f"warning: the class-data archive was not checked: {exc}")
        return
    if is_current(java, jars):
        out.print("class-data archive: already built")
        return
    try:
        with progress("building the Kafka JVMs' class-data archive (once)") as step:
            archive = build_class_archive(KafkaRuntime(java=java, jars=jars), step)
    except FleetEdgeError as exc:
        console.print(f"warning: no class-data archive; Kafka's JVMs start without it: {exc}")
        return
    out.print(f"class-data archive: built, {archive.stat().st_size // 2**20} MB at {archive}")


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Report Java, Maven and the jars; exit 1 naming whatever is missing."""
    cfg = settings()
    checks: dict[str, dict[str, str | bool]] = {}
    try:
        java = find_java(cfg.java)
        checks["java"] = {"ok": True, "detail": f"{java.path} ({java.version_line})"}
    except FleetEdgeError as exc:
        checks["java"] = {"ok": False, "detail": str(exc)}
    try:
        checks["maven"] = {"ok": True, "detail": str(find_maven())}
    except FleetEdgeError as exc:
        jars_ok = KafkaJars(cfg.cache_dir).is_fetched()
        # Maven is needed only to fetch; with the jars cached its absence is no fault.
        checks["maven"] = {
            "ok": jars_ok,
            "detail": str(exc) + (" (not needed: jars cached)" if jars_ok else ""),
        }
    toxiproxy = ToxiproxyBinary(cfg.cache_dir.parent)
    try:
        checks["toxiproxy"] = {"ok": True, "detail": str(toxiproxy.require())}
    except FleetEdgeError as exc:
        checks["toxiproxy"] = {"ok": False, "detail": str(exc)}
    jars = KafkaJars(cfg.cache_dir)
    try:
        jars.require()
        checks["jars"] = {
            "ok": True,
            "detail": f"Kafka {KAFKA_VERSION}, {jars.jar_count()} jars in {jars.lib_dir}",
        }
    except FleetEdgeError as exc:
        checks["jars"] = {"ok": False, "detail": str(exc)}
    if as_json:
        typer.echo(json.dumps(checks, indent=2))
    else:
        for name, check in checks.items():
            mark = "[green]ok[/]  " if check["ok"] else "[red]FAIL[/]"
            out.print(f"{mark} {name:6} {check['detail']}", highlight=False)
    if not all(check["ok"] for check in checks.values()):
        console.print("[red]the runtime is not ready[/]")
        raise typer.Exit(1)
