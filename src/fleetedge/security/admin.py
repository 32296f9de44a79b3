"""Creating and removing principals on a cluster: SCRAM credentials and ACLs, by AdminClient.

Every call is idempotent: adding a principal again resets its password to the stored one and
re-creates its ACLs; removing one that is gone does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from fleetedge.security.clients import kafka_config
from fleetedge.security.exceptions import AccessAdminError
from fleetedge.security.store import Credential

_kafka_log = logging.getLogger("fleetedge.runtime.kafka")
ITERATIONS = 8192
TIMEOUT = 30.0


def _client(bootstrap: str) -> AdminClient:
    # librdkafka's own lines go to the log files, not to the terminal of `fleet up`.
    return AdminClient({**kafka_config(bootstrap), "logger": _kafka_log})


def _wait(client: AdminClient, futures: dict[object, object] | list[object], what: str) -> None:
    """Wait for every future; ``client`` is held until then (destroying it cancels them)."""
    items = futures.values() if isinstance(futures, dict) else futures
    for future in items:
        try:
            future.result(timeout=TIMEOUT)  # type: ignore[attr-defined]
        except KafkaException as exc:
            raise AccessAdminError(f"{what} failed: {exc.args[0]}") from exc
    client.poll(0)


def set_password(bootstrap: str, credential: Credential) -> None:
    """Create or reset ``credential``'s SCRAM-SHA-512 user on the cluster."""
    upsert = UserScramCredentialUpsertion(
        credential.username,
        ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS),
        credential.password.get_secret_value().encode(),
    )
    client = _client(bootstrap)
    futures = client.alter_user_scram_credentials([upsert])
    _wait(client, futures, f"setting {credential.username}'s password")


def delete_user(bootstrap: str, username: str) -> None:
    """Remove the SCRAM user (its open connections fail at their next re-authentication)."""
    client = _client(bootstrap)
    futures = client.alter_user_scram_credentials(
        [UserScramCredentialDeletion(username, ScramMechanism.SCRAM_SHA_512)]
    )
    for future in futures.values():
        try:
            future.result(timeout=TIMEOUT)
        except KafkaException as exc:
            if "RESOURCE_NOT_FOUND" not in str(exc.args[0]):
                raise AccessAdminError(f"removing user {username} failed: {exc.args[0]}") from exc


def _of_principal(username: str) -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        f"User:{username}",
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def grant(bootstrap: str, acls: Sequence[AclBinding]) -> None:
    if acls:
        client = _client(bootstrap)
        _wait(client, client.create_acls(list(acls)), "creating ACLs")


def revoke_principal(bootstrap: str, username: str) -> None:
    """Delete every ACL of ``username``."""
    match = _of_principal(username)
    client = _client(bootstrap)
    _wait(client, client.delete_acls([match]), f"deleting {username}'s ACLs")


def revoke_resource(bootstrap: str, resource: ResourceType, name: str, prefixed: bool) -> None:
    """Delete every ACL, of anyone, on one resource pattern."""
    pattern = ResourcePatternType.PREFIXED if prefixed else ResourcePatternType.LITERAL
    match = AclBindingFilter(
        resource, name, pattern, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
    client = _client(bootstrap)
    _wait(client, client.delete_acls([match]), f"deleting ACLs on {name}")


def acls_of(bootstrap: str, username: str) -> list[AclBinding]:
    match = _of_principal(username)
    try:
        client = _client(bootstrap)
        result = client.describe_acls(match).result(timeout=TIMEOUT)
    except KafkaException as exc:
        raise AccessAdminError(f"listing {username}'s ACLs failed: {exc.args[0]}") from exc
    return list(result)
