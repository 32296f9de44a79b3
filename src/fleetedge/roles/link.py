"""The shore role's ``link`` kind: the vessels of ``shore.toml`` carried by a Kafka Connect
cluster someone else runs (Strimzi's ``KafkaConnect``, or workers of your own).

It puts each vessel's uplink connectors on that cluster over REST (unless their owner is
Strimzi's ``KafkaConnector`` resources: ``connect.manage_connectors = false``), restarts failed
tasks, and writes each link's health to ``fleet.link``, as ``fleet up``'s link does. It starts
no JVM: commands to the vessels (the downlink) are not carried by the role yet.
"""

from __future__ import annotations

from pathlib import Path

from fleetedge.link.connectors import uplink_configs, write_secret
from fleetedge.link.mirror import LinkEndpoints
from fleetedge.link.reports import LinkReporter
from fleetedge.link.rest import ConnectRest
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.vessels import VesselLink
from fleetedge.roles.config import ShoreConfig, ShoreVessel
from fleetedge.roles.exceptions import ConfigError
from fleetedge.runtime.health import metadata
from fleetedge.runtime.retry import retrying
from fleetedge.security import clients
from fleetedge.security.clients import ClientAuth

# A stall is judged after three minutes, as `fleet up`'s link does: a new task can take a
# minute or two to mirror on a loaded machine.
STALL_AFTER_S = 180.0


def vessel_auth(
    config: ShoreConfig, vessel: ShoreVessel
) -> tuple[ClientAuth | None, ClientAuth | None]:
    """The vessel principal's identity (ashore, on its link listener): None where plaintext."""
    login = vessel.login()
    shore_ca = config.kafka.ca_file
    if login is None:
        if shore_ca is not None:
            raise ConfigError(
                f"vessels.{vessel.id}: the shore is secured, so its connectors need the "
                "vessel's username and password_file"
            )
        return None, None
    password = login.password()
    ashore = ClientAuth(login.username, password, shore_ca) if shore_ca else None
    link_ca = vessel.link_ca_file
    aboard = ClientAuth(login.username, password, link_ca) if link_ca else None
    return ashore, aboard


def vessel_links(config: ShoreConfig, state: Path) -> list[VesselLink]:
    """Each vessel's connectors' configs, its secret written where the workers read it."""
    boot = config.kafka.bootstrap
    # The shore answered the role's own check a moment ago; a broker restarting meanwhile is
    # waited out, not a reason to exit.
    brokers = retrying(lambda: metadata(boot, timeout=30).brokers, what="the shore's brokers")
    rf = min(3, len(brokers))
    secrets = config.connect.secrets_dir or state / "link" / "secrets"
    links = []
    for vessel in config.vessels:
        ashore, aboard = vessel_auth(config, vessel)
        if aboard is not None:
            clients.use(vessel.link_bootstrap, aboard)  # the backlog's measure, as the vessel
        ends = LinkEndpoints(
            vessel.id,
            vessel.link_bootstrap,
            boot,
            shore_replication_factor=rf,
            shore_security=ashore.java() if ashore else {},
            vessel_security=aboard.java() if aboard else {},
        )
        # One principal at both ends: one JAAS line, in one file.
        either = ashore or aboard
        secret = write_secret(secrets, vessel.id, either.java()) if either else None
        links.append(
            VesselLink(
                vessel=vessel.id,
                # Ashore, the vessel is reached through its link only.
                vessel_bootstrap=vessel.link_bootstrap,
                link_bootstrap=vessel.link_bootstrap,
                shore_bootstrap=boot,
                connectors=uplink_configs(ends, secret=secret),
                downlink=None,
            )
        )
    return links


def link_supervisor(config: ShoreConfig, state: Path) -> LinkSupervisor:
    """The watch of every vessel's link on ``config.connect.urls``."""
    return LinkSupervisor(
        vessel_links(config, state),
        ConnectRest(config.connect.urls),
        reporter=LinkReporter(config.kafka.bootstrap, state / "link"),
        stall_after=STALL_AFTER_S,
        manage_connectors=config.connect.manage_connectors,
    )
