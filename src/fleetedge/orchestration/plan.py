"""The services of a fleet: per vessel a simulator, an edge processor and its resender; the
link (N Kafka Connect workers carrying every vessel's MirrorMaker 2 connectors, and the link
service: Toxiproxy, each vessel's downlink, the watch on Connect); ashore the normalizer, N
analytics workers, the projector, the backfill requester and the API.

Ports follow the README's demo scheme unless ``free`` (tests): the API on 18080, Connect's
workers' REST from 18200, the services' Prometheus metrics from 18300 in plan order, the
supervisor's own on 18091.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fleetedge.orchestration.spec import FleetPlan, ServiceSpec
from fleetedge.orchestration.state import fleet_dir, live_faults_path
from fleetedge.roles.config import (
    AnalyticsSettings,
    ApiSettings,
    KafkaAccess,
    ShoreConfig,
    ShoreKind,
    Simulated,
    VesselConfig,
)
from fleetedge.roles.shore import shore_services
from fleetedge.roles.vessel import VESSEL_SERVICES, vessel_services
from fleetedge.runtime.ports import free_ports
from fleetedge.security.clients import CREDENTIALS_ENV

API_PORT = 18080
SUPERVISOR_METRICS_PORT = 18091
METRICS_BASE = 18300
CONNECT_REST_BASE = 18200

# The story's incident: bay 3 of vessel-1 loses power (by default two simulated hours in) for
# 40 minutes.
INCIDENT_SCRIPT = "{at} bay 3 power-loss 40m\n"

# The link's services, in start order: (name, kind, arguments), filled in from the plan
# ({connects} the Connect workers' REST URLs, {free} --free-ports in tests, {k} the worker's
# number); connect runs one per worker. The shore's services follow, built by the shore role's
# code (fleetedge.roles.shore) from the file `fleet shore run` would be given.
LINK_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("connect-{k}", "connect", "link worker --name connect-{k}"),
    ("link", "link", "link run --shore shore {connects} {free}"),
)
# The kinds of the shore role a local fleet runs (its link is the one above).
LOCAL_SHORE_KINDS: list[ShoreKind] = ["normalizer", "analytics", "projector", "backfill", "api"]


@dataclass(frozen=True)
class FleetOptions:
    vessels: int = 2
    containers: int = 200
    speedup: float = 60.0
    analytics_workers: int = 2
    connect_workers: int = 1
    free_ports: bool = False
    database: str | None = None
    incident: bool = True
    incident_at: str = "2h"
    secure: bool = True


def build_plan(
    options: FleetOptions,
    *,
    home: Path,
    bootstraps: dict[str, str],
    started_at: datetime,
    credentials: dict[str, Path] | None = None,
) -> FleetPlan:
    """The plan for clusters already up (``bootstraps``: cluster name → bootstrap servers).

    ``credentials`` (a secured shore): each shore service's principal → its credentials file,
    passed to the service as FLEET_KAFKA_CREDENTIALS.
    """
    directory = fleet_dir(home)
    vessels = [f"vessel-{i}" for i in range(1, options.vessels + 1)]
    shore = bootstraps["shore"]
    database = options.database or f"sqlite:///{directory / 'fleet.db'}"
    count = VESSEL_SERVICES * len(vessels) + 5 + options.analytics_workers
    ports = free_ports(count + 1) if options.free_ports else None
    metrics: Iterator[int] = iter(ports[1:] if ports else range(METRICS_BASE, METRICS_BASE + count))
    api_port = ports[0] if ports else API_PORT
    incident = directory / "incident.faults"
    if options.incident:
        directory.mkdir(parents=True, exist_ok=True)
        incident.write_text(INCIDENT_SCRIPT.format(at=options.incident_at))

    services: list[ServiceSpec] = []
    for index, vessel in enumerate(vessels):
        services += vessel_services(
            local_vessel(
                vessel,
                bootstraps[vessel],
                options.containers,
                seed=index + 1,
                speedup=options.speedup,
            ),
            started_at=started_at,
            ports=metrics,
            faults=incident if options.incident and index == 0 else None,
            live_faults=live_faults_path(home, vessel),
        )
    rest_ports = (
        free_ports(options.connect_workers)
        if options.free_ports
        else [CONNECT_REST_BASE + k for k in range(options.connect_workers)]
    )
    api_url = f"http://127.0.0.1:{api_port}"
    lists = {
        "{connects}": [w for p in rest_ports for w in ("--connect", f"http://127.0.0.1:{p}")],
        "{free}": ["--free-ports"] if options.free_ports else [],
    }
    counts = {"connect": options.connect_workers}
    for name, kind, args in LINK_SERVICES:
        for k in range(1, counts.get(kind, 1) + 1):
            words = tuple(
                part
                for word in args.split()
                for part in (lists[word] if word in lists else [word.format(k=k)])
            )
            if kind == "connect":
                port = rest_ports[k - 1]
                services.append(
                    ServiceSpec(
                        name=name.format(k=k), kind=kind,
                        args=(*words, "--rest-port", str(port)),
                        health_url=f"http://127.0.0.1:{port}/",
                    )
                )  # fmt: skip
            else:
                services.append(_spec(name.format(k=k), kind, list(words), metrics))
    local_shore = ShoreConfig(
        kafka=KafkaAccess(bootstrap=shore),
        database=database,
        run=LOCAL_SHORE_KINDS,
        api=ApiSettings(port=api_port),
        analytics=AnalyticsSettings(workers=options.analytics_workers),
    )
    services += shore_services(local_shore, directory, {}, ports=metrics)
    if credentials is not None:
        services = [_with_identity(s, credentials) for s in services]
    return FleetPlan(
        secure=credentials is not None,
        free_ports=options.free_ports,
        vessels=vessels,
        containers=options.containers,
        speedup=options.speedup,
        started_at=started_at.isoformat(),
        database=database,
        api_url=api_url,
        services=services,
    )


# The shore principal each kind of service runs as (fleetedge.security.acls).
PRINCIPALS = {
    "connect": "svc-connect",
    "link": "svc-link",
    "normalizer": "svc-normalizer",
    "analytics": "svc-analytics",
    "projector": "svc-projector",
    "backfill": "svc-backfill",
    "api": "svc-api",
}


def local_vessel(
    name: str, bootstrap: str, containers: int, *, seed: int, speedup: float
) -> VesselConfig:
    """A vessel of the local fleet, as its ``vessel.toml`` would say: its cluster's plaintext
    loopback listener, simulated reefers with their own seed (route and cargo)."""
    return VesselConfig(
        vessel=name,
        kafka=KafkaAccess(bootstrap=bootstrap),
        reefers=Simulated(containers=containers, seed=seed, speedup=speedup),
    )


def _with_identity(spec: ServiceSpec, credentials: dict[str, Path]) -> ServiceSpec:
    principal = PRINCIPALS.get(spec.kind)
    if principal is None:  # aboard: the vessel's own loopback listener
        return spec
    return spec.model_copy(update={"env": {CREDENTIALS_ENV: str(credentials[principal])}})


def _spec(
    name: str, kind: str, args: list[str], ports: Iterator[int], vessel: str | None = None
) -> ServiceSpec:
    port = next(ports)
    return ServiceSpec(
        name=name,
        kind=kind,
        args=(*args, "--metrics-port", str(port)),
        vessel=vessel,
        metrics_port=int(port),
    )
