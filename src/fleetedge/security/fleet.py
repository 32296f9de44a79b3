"""The fleet's security, end to end: what ``fleet up`` and ``fleet security`` do.

- :func:`shore_security` / :func:`vessel_security`: how a new cluster's listeners are secured;
- :func:`provision_services`: the shore services' principals and ACLs;
- :func:`add_vessel` / :func:`revoke_vessel`: a vessel's principal, ashore and aboard.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from confluent_kafka.admin import ResourceType

from fleetedge.runtime.state import ClusterSecurity
from fleetedge.security import acls, admin
from fleetedge.security.clients import ClientAuth
from fleetedge.security.store import ADMIN, SecurityStore

log = structlog.get_logger("fleetedge.security")


def shore_security(store: SecurityStore, cluster: str) -> ClusterSecurity:
    store.ensure()
    store.ensure_principal(ADMIN)
    store.broker_secret(cluster)
    return ClusterSecurity(
        scope="cluster",
        server_pem=store.server_pem(cluster),
        ca_file=store.ca_file,
        broker_secret_file=store.directory / "brokers" / f"{cluster}.json",
        admin_file=store.credentials_path(ADMIN),
    )


def vessel_security(store: SecurityStore, cluster: str) -> ClusterSecurity:
    store.ensure()
    return ClusterSecurity(
        scope="link", server_pem=store.server_pem(cluster), ca_file=store.ca_file
    )


def auth(store: SecurityStore, principal: str) -> ClientAuth:
    cred = store.principal(principal)
    return ClientAuth(cred.username, cred.password, store.ca_file)


def provision_services(store: SecurityStore, shore_bootstrap: str) -> dict[str, Path]:
    """Every shore service's principal and ACLs; its credentials file for the supervisor."""
    files: dict[str, Path] = {}
    for service in acls.SERVICES:
        cred = store.ensure_principal(service)
        admin.set_password(shore_bootstrap, cred)
        admin.grant(shore_bootstrap, acls.bindings(service, acls.service_grants(service)))
        files[service] = store.client_file(service, shore_bootstrap)
    log.info("shore service principals provisioned", principals=list(acls.SERVICES))
    return files


def add_vessel(
    store: SecurityStore, vessel: str, *, shore_bootstrap: str, vessel_bootstrap: str | None
) -> None:
    """``vessel``'s principal: its password ashore and aboard, its ACLs ashore, and the shore
    readers' right to its topics. ``vessel_bootstrap`` is the vessel's own (plaintext,
    loopback) listener, where its link credentials are set; None when it is not reachable."""
    cred = store.ensure_principal(vessel)
    admin.set_password(shore_bootstrap, cred)
    admin.grant(shore_bootstrap, acls.bindings(vessel, acls.vessel_grants(vessel)))
    for reader in acls.VESSEL_READERS:
        admin.grant(shore_bootstrap, acls.bindings(reader, acls.vessel_reader_grants(vessel)))
    if vessel_bootstrap is not None:
        admin.set_password(vessel_bootstrap, cred)
    log.info("vessel principal added", vessel=vessel)


def revoke_vessel(
    store: SecurityStore, vessel: str, *, shore_bootstrap: str, keep_readers: bool = False
) -> None:
    """Remove ``vessel``'s user and every ACL naming it or its topics, ashore. Its open
    sessions lose their rights at once (ACLs are checked per request) and their
    authentication at the next re-authentication. ``keep_readers``: the shore services keep
    reading what the vessel sent (a vessel leaving the fleet: its data stays ashore, and the
    normalizer's pattern subscription still holds its topics)."""
    admin.revoke_principal(shore_bootstrap, vessel)
    if not keep_readers:
        admin.revoke_resource(shore_bootstrap, ResourceType.TOPIC, f"{vessel}.", prefixed=True)
    admin.delete_user(shore_bootstrap, vessel)
    store.delete_principal(vessel)
    log.info("vessel principal revoked", vessel=vessel)
