"""The fleet's secrets on disk: ``<home>/security`` (0700), every file in it 0600.

    ca.pem, ca.key              the local CA
    <cluster>.pem               the server key and chain of a cluster's secured listener
    principals/<name>.json      a principal's SCRAM credentials (name, password)
    brokers/<cluster>.json      the brokers' own identity on their internal listeners

Passwords are made here with ``secrets`` and handed around as :class:`SecretStr`; only this
module and the files the brokers read hold them in clear.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from fleetedge.files import write_private
from fleetedge.security.ca import LocalCA
from fleetedge.security.clients import ClientAuth, write_credentials_file
from fleetedge.security.exceptions import CredentialsError

ADMIN = "admin"
BROKER = "broker"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Credential:
    """A SCRAM principal: ``password`` never prints."""

    username: str
    password: SecretStr


def security_dir(home: Path) -> Path:
    return home / "security"


class SecurityStore:
    """The CA, the server certificates and the principals' credentials of one fleet home."""

    def __init__(self, home: Path) -> None:
        self.directory = security_dir(home)
        self.ca = LocalCA(self.directory)

    @property
    def ca_file(self) -> Path:
        return self.ca.cert_path

    def ensure(self) -> None:
        """Create the directory (0700) and the CA, once."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.ca.ensure()

    def server_pem(self, cluster: str) -> Path:
        """The server key and chain of ``cluster``'s secured listener (issued once)."""
        path = self.directory / f"{cluster}.pem"
        if not path.exists():
            self.ensure()
            self.ca.issue_server(cluster, path)
        return path

    def credentials_path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise CredentialsError(f"{name!r} is not a principal name (letters, digits, ._-)")
        return self.directory / "principals" / f"{name}.json"

    def principal(self, name: str) -> Credential:
        """The credentials of ``name``; CredentialsError when it has none."""
        path = self.credentials_path(name)
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise CredentialsError(
                f"principal {name!r} has no credentials",
                hint=f"`fleet security add-vessel {name}` for a vessel; `fleet up` makes the rest",
            ) from exc
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"{path} is unreadable: {exc}") from exc
        return Credential(body["username"], SecretStr(body["password"]))

    def has_principal(self, name: str) -> bool:
        return self.credentials_path(name).exists()

    def ensure_principal(self, name: str) -> Credential:
        """The credentials of ``name``, made with a fresh random password the first time."""
        if self.has_principal(name):
            return self.principal(name)
        password = secrets.token_urlsafe(24)
        write_private(
            self.credentials_path(name),
            json.dumps({"username": name, "password": password}).encode(),
        )
        return Credential(name, SecretStr(password))

    def delete_principal(self, name: str) -> None:
        self.credentials_path(name).unlink(missing_ok=True)

    def principals(self) -> list[str]:
        folder = self.directory / "principals"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def broker_secret(self, cluster: str) -> SecretStr:
        """The password brokers of ``cluster`` use among themselves (made once)."""
        path = self.directory / "brokers" / f"{cluster}.json"
        if not path.exists():
            write_private(path, json.dumps({"password": secrets.token_urlsafe(24)}).encode())
        return SecretStr(json.loads(path.read_text())["password"])

    def client_file(self, name: str, bootstrap: str) -> Path:
        """A file a service reads its Kafka identity from (FLEET_KAFKA_CREDENTIALS), 0600."""
        cred = self.principal(name)
        auth = ClientAuth(cred.username, cred.password, self.ca_file)
        return write_credentials_file(self.directory / "clients" / f"{name}.json", bootstrap, auth)
