"""The vessel role: what runs aboard, on the vessel's own Kafka.

The reefers' source (the simulator, whose reefer controllers take commands, or the MQTT
bridge), the edge processor, its resender and the command handler. ``fleet up`` builds each
local vessel's services here too, so a ship and the demo run the same commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from fleetedge.events import topics
from fleetedge.orchestration.spec import ServiceSpec
from fleetedge.roles.config import Mqtt, Simulated, VesselConfig
from fleetedge.roles.preflight import reach
from fleetedge.roles.run import RolePlan, identity_env, metrics_on, voyage_start
from fleetedge.runtime.health import create_topic
from fleetedge.security import clients

# Services per vessel: its reefers' source, edge, resender and command handler.
VESSEL_SERVICES = 4
LIVE_FAULTS = "faults.live"


def vessel_role(config: VesselConfig, home: Path) -> RolePlan:
    """Check that the vessel's Kafka answers to the file's login, create the vessel's topics,
    and plan its services. Nothing runs yet; nothing has started when this raises."""
    auth = config.kafka.auth()
    brokers = reach(config.kafka, auth, what="kafka")
    state = config.state_dir or home / "vessels" / config.vessel
    boot = config.kafka.bootstrap
    if auth is not None:
        clients.use(boot, auth)  # this process's own clients: the topics below
    ensure_topics(config, brokers)
    given = config.reefers.start if isinstance(config.reefers, Simulated) else None
    first = config.metrics_port
    services = vessel_services(
        config,
        started_at=voyage_start(state, given),
        ports=iter(range(first, first + VESSEL_SERVICES)),
        env=identity_env(state, config.vessel, boot, auth),
        # Simulated reefers take faults appended to this file (`fleet chaos fault`'s lines).
        live_faults=state / LIVE_FAULTS if isinstance(config.reefers, Simulated) else None,
    )
    return RolePlan(f"vessel {config.vessel}", metrics_on(services, config.metrics_host), state)


def vessel_services(
    config: VesselConfig,
    *,
    started_at: datetime,
    ports: Iterator[int],
    faults: Path | None = None,
    live_faults: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[ServiceSpec]:
    """The vessel's services, each with the next metrics port of ``ports``.

    ``started_at``: the simulated voyage's start (a simulator resumes after its own last
    reading); ``faults`` / ``live_faults``: the simulator's scripted and live fault files;
    ``env``: every service's extra environment (its Kafka credentials file)."""
    name, boot, reefers = config.vessel, config.kafka.bootstrap, config.reefers
    manifest = (
        ["--manifest", str(reefers.manifest)]
        if isinstance(reefers, Mqtt) and reefers.manifest is not None
        else ["--containers", str(reefers.containers), "--seed", str(reefers.seed)]
    )
    if isinstance(reefers, Mqtt):
        source = ServiceSpec(
            name=f"mqtt-{name}", kind="ingest",
            args=("ingest", "mqtt", "--vessel", name, "--bootstrap", boot,
                  "--mqtt-port", str(reefers.port), *manifest),
        )  # fmt: skip
    else:
        sim = [
            "simulate", "--vessel", name, "--bootstrap", boot,
            "--containers", str(reefers.containers), "--speedup", str(reefers.speedup),
            "--interval", str(reefers.interval_seconds),
            "--duration", "100000h", "--start", started_at.isoformat(), "--resume",
            "--seed", str(reefers.seed),  # each vessel its own route and cargo
            "--commands",
        ]  # fmt: skip
        if faults is not None:
            sim += ["--faults", str(faults)]
        if live_faults is not None:
            sim += ["--live-faults", str(live_faults)]
        source = ServiceSpec(name=f"sim-{name}", kind="simulator", args=tuple(sim))
    window = [
        "--window-minutes", str(config.edge.window_minutes),
        "--grace-minutes", str(config.edge.grace_minutes),
    ]  # fmt: skip
    edge = [
        "edge", "run", "--vessel", name, "--bootstrap", boot, *manifest, *window,
        "--interval-seconds", str(reefers.interval_seconds),
    ]  # fmt: skip
    resend = ["edge", "resend", "--vessel", name, "--bootstrap", boot, *window]
    command = ["edge", "commands", "--vessel", name, "--bootstrap", boot]
    specs = [
        source,
        ServiceSpec(name=f"edge-{name}", kind="edge", args=tuple(edge)),
        ServiceSpec(name=f"resend-{name}", kind="resend", args=tuple(resend)),
        ServiceSpec(name=f"commands-{name}", kind="commands", args=tuple(command)),
    ]
    return [_served(s, next(ports), name, env or {}) for s in specs]


def ensure_topics(config: VesselConfig, brokers: int) -> None:
    """The vessel's topics, replicated on up to 3 of its ``brokers``."""
    for spec in topics.VESSEL_TOPICS:
        create_topic(
            config.kafka.bootstrap,
            spec.name,
            partitions=spec.partitions,
            replication_factor=min(3, brokers),
            config=spec.config,
        )


def _served(spec: ServiceSpec, port: int, vessel: str, env: dict[str, str]) -> ServiceSpec:
    return spec.model_copy(
        update={
            "args": (*spec.args, "--metrics-port", str(port)),
            "metrics_port": port,
            "vessel": vessel,
            "env": env,
        }
    )
