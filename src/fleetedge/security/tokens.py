"""API bearer tokens with roles, stored as SHA-256 hashes only.

A token is 32 random bytes (URL-safe base64), shown once when made. The book keeps its name,
its role and the hash of it; a request's token is hashed and compared against every entry in
constant time (``hmac.compare_digest``, no early exit), so neither the file nor the timing of
a refusal tells anything about a valid token. Plain SHA-256 is enough here: unlike a
password, a 256-bit random token cannot be guessed from its hash by trying candidates.

Roles: ``viewer`` reads; ``operator`` also acts (chaos, replay, backfill commands).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from fleetedge.files import write_private
from fleetedge.security.exceptions import CredentialsError

Role = Literal["viewer", "operator"]
ROLES: tuple[Role, ...] = ("viewer", "operator")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    role: Role
    sha256: str


class TokenBook:
    """The API's tokens (``path``, 0600), as hashes; ``extra`` are held in memory only."""

    def __init__(self, path: Path | None, extra: list[TokenRecord] | None = None) -> None:
        self.path = path
        self._extra = list(extra or [])

    def records(self) -> list[TokenRecord]:
        if self.path is None or not self.path.exists():
            return list(self._extra)
        try:
            body = json.loads(self.path.read_text())
            stored = [TokenRecord.model_validate(r) for r in body["tokens"]]
        except (OSError, ValueError, KeyError) as exc:
            raise CredentialsError(f"API token file {self.path} is unreadable ({exc})") from exc
        return stored + self._extra

    def role_of(self, token: str) -> Role | None:
        """The role of ``token``, or None."""
        record = self.holder(token)
        return record.role if record else None

    def holder(self, token: str) -> TokenRecord | None:
        """The record of ``token`` (its name and role), or None; every entry is compared,
        whatever matches."""
        given = digest(token).encode()
        found: TokenRecord | None = None
        for record in self.records():
            if hmac.compare_digest(given, record.sha256.encode()):
                found = record
        return found

    def add(self, name: str, role: Role) -> SecretStr:
        """A new token for ``name``; only its hash is kept. A name is unique: it is replaced."""
        if self.path is None:
            raise CredentialsError("this token book has no file to add to")
        token = secrets.token_urlsafe(32)
        kept = [r for r in self.records() if r.name != name and r not in self._extra]
        kept.append(TokenRecord(name=name, role=role, sha256=digest(token)))
        self._save(kept)
        return SecretStr(token)

    def revoke(self, name: str) -> bool:
        stored = [r for r in self.records() if r not in self._extra]
        kept = [r for r in stored if r.name != name]
        self._save(kept)
        return len(kept) != len(stored)

    def _save(self, records: list[TokenRecord]) -> None:
        if self.path is None:
            raise CredentialsError("this token book has no file to save to")
        body = {"tokens": [r.model_dump() for r in records]}
        write_private(self.path, json.dumps(body, indent=2).encode())


def in_memory(name: str, role: Role, token: SecretStr) -> TokenRecord:
    """An entry for a token given by setting (FLEET_API_TOKEN), never written anywhere."""
    return TokenRecord(name=name, role=role, sha256=digest(token.get_secret_value()))
