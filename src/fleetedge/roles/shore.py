"""The shore role: the services that read every vessel's data on the shore's Kafka.

The normalizer, the analytics workers, the projector, the backfill requester, the API and the
link (the vessels' connectors on a Connect cluster someone else runs: :mod:`.link`). Each
service kind may run as its own principal (``[principals.<kind>]``, with the ACLs ``fleet
security`` grants it), else as the file's ``[kafka]`` login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fleetedge.events import topics as t
from fleetedge.link.mirror import commands_topic
from fleetedge.orchestration.spec import ServiceSpec
from fleetedge.roles.config import ShoreConfig
from fleetedge.roles.exceptions import ConfigError, RoleError
from fleetedge.roles.link import vessel_auth
from fleetedge.roles.preflight import reach
from fleetedge.roles.run import RolePlan, identity_env, metrics_on
from fleetedge.runtime.health import create_topic
from fleetedge.security import clients
from fleetedge.shore import AnalyticsConfig, ensure_topics


def shore_role(config: ShoreConfig, home: Path, source: Path) -> RolePlan:
    """Check every login the file names against the shore's Kafka, create the shore topics
    (as the ``[kafka]`` login), and plan the services (the link reads ``source``, the file
    itself, for the vessels' logins). Nothing has started when this raises."""
    if "link" in config.run:
        for vessel in config.vessels:  # a login missing is said now, not by a link in a loop
            try:
                vessel_auth(config, vessel)
            except ConfigError as exc:
                raise ConfigError(f"{source}: {exc.message}") from exc
    access, boot = config.kafka, config.kafka.bootstrap
    auth = access.auth()
    brokers = reach(access, auth, what="kafka")
    for kind, login in sorted(config.principals.items()):
        reach(access, access.auth(login), what=f"principals.{kind}")
    if auth is not None:
        clients.use(boot, auth)
    if config.create_topics:
        rf = min(3, brokers)
        ensure_topics(AnalyticsConfig(boot, Path(), replication_factor=rf))
        for vessel in config.vessels:
            create_topic(boot, commands_topic(vessel.id), partitions=t.COMMANDS.partitions,
                         replication_factor=rf)  # fmt: skip
    state = config.state_dir or home / "shore"
    env: dict[str, dict[str, str]] = {
        kind: identity_env(state, kind, boot, access.auth(config.principals.get(kind)))
        for kind in config.run
    }
    services = shore_services(config, state, env, source)
    return RolePlan("shore", metrics_on(services, config.metrics_host), state)


def shore_services(
    config: ShoreConfig,
    state: Path,
    env: dict[str, dict[str, str]],
    source: Path | None = None,
    *,
    ports: Iterator[int] | None = None,
) -> list[ServiceSpec]:
    """The services of the kinds ``config.run`` names, in start order (`fleet up` builds its
    shore's from here too); metrics ports from ``ports``, else ``config.metrics_port`` on,
    one each (the API serves its own health on its port). ``source``: the file, which the
    link kind reads."""
    if "link" in config.run and source is None:
        raise RoleError("the link kind reads the role's file: no file was given")
    boot, db = config.kafka.bootstrap, config.database
    every = str(config.analytics.commit_interval)
    backfill = config.backfill
    listed = [
        ("normalizer", "normalizer", ("shore", "normalize", "--bootstrap", boot)),
        *(
            (f"analytics-{k}", "analytics",
             ("shore", "analytics", "--bootstrap", boot,
              "--state-dir", str(state / f"analytics-{k}"), "--commit-interval", every))
            for k in range(1, config.analytics.workers + 1)
        ),
        ("projector", "projector", ("shore", "project", "--bootstrap", boot, "--database", db)),
        ("backfill", "backfill",
         ("shore", "backfill", "--bootstrap", boot, "--every", str(backfill.every_seconds),
          "--cooldown-minutes", str(backfill.cooldown_minutes))),
        ("link", "link", ("shore", "link", "--config", str(source))),
    ]  # fmt: skip
    ports = ports if ports is not None else iter(range(config.metrics_port, 65536))
    services = [
        ServiceSpec(
            name=name,
            kind=kind,
            args=(*args, "--metrics-port", str(port := next(ports))),
            metrics_port=port,
            env=env.get(kind, {}),
        )
        for name, kind, args in listed
        if kind in config.run
    ]
    if "api" in config.run:
        api = config.api
        services.append(
            ServiceSpec(
                name="api",
                kind="api",
                args=("api", "serve", "--bootstrap", boot, "--database", db,
                      "--host", api.host, "--port", str(api.port), "--reads", api.reads,
                      *(("--tls-cert", str(api.tls_cert), "--tls-key", str(api.tls_key))
                        if api.tls_cert else ()),
                      *(("--tokens-file", str(api.tokens_file)) if api.tokens_file else ())),
                health_url=f"{api.url}/livez",
                env=env.get("api", {}),
            )
        )  # fmt: skip
    return services
