"""Which identity a Kafka client of this process presents to which cluster.

Every client FleetEdge makes takes its settings from :func:`kafka_config`, which adds SASL_SSL
(SCRAM-SHA-512, the fleet CA) when the bootstrap servers belong to a secured listener this
process holds credentials for:

- a service started by the fleet supervisor reads its own principal from the 0600 file named
  by ``FLEET_KAFKA_CREDENTIALS`` (its password never appears on a command line);
- a process that loads a secured cluster's state (the operator's ``fleet`` commands, the
  supervisor, tests) acts as that cluster's admin, unless it already has its own identity.

A plaintext cluster (a vessel's own loopback listener, the test clusters) gets no settings.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from fleetedge.files import write_private
from fleetedge.security.exceptions import CredentialsError

CREDENTIALS_ENV = "FLEET_KAFKA_CREDENTIALS"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class ClientAuth:
    """A SCRAM identity on a TLS listener signed by ``ca_file``."""

    username: str
    password: SecretStr
    ca_file: Path

    def librdkafka(self) -> dict[str, str]:
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": MECHANISM,
            "sasl.username": self.username,
            "sasl.password": self.password.get_secret_value(),
            "ssl.ca.location": str(self.ca_file),
            "ssl.endpoint.identification.algorithm": "https",
        }

    def java(self) -> dict[str, str]:
        """The same identity for a Java client (MirrorMaker 2), TLS 1.2 or 1.3 only."""
        user = self.username.replace("\\", "\\\\").replace('"', '\\"')
        secret = self.password.get_secret_value().replace("\\", "\\\\").replace('"', '\\"')
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": MECHANISM,
            "sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{user}" password="{secret}";'
            ),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
            "ssl.endpoint.identification.algorithm": "https",
        }


_lock = threading.Lock()
_own: dict[frozenset[str], ClientAuth] = {}
_fallback: dict[frozenset[str], ClientAuth] = {}
_env = {"loaded": False}


def servers(bootstrap: str) -> frozenset[str]:
    return frozenset(s.strip() for s in bootstrap.split(",") if s.strip())


def load_credentials_file(path: Path) -> tuple[str, ClientAuth]:
    """(bootstrap, identity) from a client file written by the security store."""
    try:
        body = json.loads(path.read_text())
        return body["bootstrap"], ClientAuth(
            body["username"], SecretStr(body["password"]), Path(body["ca_file"])
        )
    except (OSError, ValueError, KeyError) as exc:
        raise CredentialsError(f"Kafka credentials file {path} is unreadable ({exc})") from exc


def write_credentials_file(path: Path, bootstrap: str, auth: ClientAuth) -> Path:
    """The file :func:`load_credentials_file` reads (FLEET_KAFKA_CREDENTIALS), 0600."""
    body = {
        "bootstrap": bootstrap,
        "username": auth.username,
        "password": auth.password.get_secret_value(),
        "ca_file": str(auth.ca_file),
    }
    write_private(path, json.dumps(body))
    return path


def _load_env() -> None:
    if _env["loaded"]:
        return
    _env["loaded"] = True
    path = os.environ.get(CREDENTIALS_ENV)
    if path:
        bootstrap, auth = load_credentials_file(Path(path))
        _own[servers(bootstrap)] = auth


def use(bootstrap: str, auth: ClientAuth) -> None:
    """Present ``auth`` to ``bootstrap`` from now on in this process."""
    with _lock:
        _load_env()
        _own[servers(bootstrap)] = auth


def use_as_admin(bootstrap: str, auth: ClientAuth) -> None:
    """``auth`` for ``bootstrap`` unless this process has an identity of its own there."""
    with _lock:
        _fallback[servers(bootstrap)] = auth


def forget(bootstrap: str) -> None:
    with _lock:
        key = servers(bootstrap)
        _own.pop(key, None)
        _fallback.pop(key, None)


def auth_for(bootstrap: str) -> ClientAuth | None:
    key = servers(bootstrap)
    with _lock:
        _load_env()
        for table in (_own, _fallback):
            for known, auth in table.items():
                if known & key:
                    return auth
    return None


def kafka_config(bootstrap: str) -> dict[str, Any]:
    """librdkafka settings to reach ``bootstrap``: the servers and their security, if any."""
    config: dict[str, Any] = {"bootstrap.servers": bootstrap}
    auth = auth_for(bootstrap)
    if auth is not None:
        config |= auth.librdkafka()
    return config
