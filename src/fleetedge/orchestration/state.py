"""Where a running fleet keeps its plan, its supervisor's snapshot, its API token and logs.

Everything sits under ``<FLEET_HOME>/fleet``, so ``fleet status``, ``fleet chaos`` and the API
find the fleet that ``fleet up`` started, from any process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fleetedge.files import write_private
from fleetedge.security.tokens import TokenBook

ServicePhase = Literal["starting", "healthy", "backoff", "stopped"]


def fleet_dir(home: Path) -> Path:
    return home / "fleet"


def plan_path(home: Path) -> Path:
    return fleet_dir(home) / "plan.json"


def snapshot_path(home: Path) -> Path:
    return fleet_dir(home) / "services.json"


def token_path(home: Path) -> Path:
    return fleet_dir(home) / "api-token"


def logs_dir(home: Path) -> Path:
    return fleet_dir(home) / "logs"


def live_faults_path(home: Path, vessel: str) -> Path:
    """Faults ``fleet chaos fault`` appends for the vessel's running simulator."""
    return fleet_dir(home) / "faults" / f"{vessel}.live"


def tokens_path(home: Path) -> Path:
    """The API's token book: names, roles and SHA-256 hashes (see fleetedge.security.tokens)."""
    return fleet_dir(home) / "api-tokens.json"


def ensure_token(home: Path) -> str:
    """The first operator's API token, made once. The API keeps only its hash; the operator's
    own copy is ``api-token``, readable by its owner only (0600), as a kubeconfig would be."""
    path = token_path(home)
    book = TokenBook(tokens_path(home))
    if path.exists():
        token = path.read_text().strip()
        if book.role_of(token) == "operator":
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = book.add("operator", "operator").get_secret_value()
    write_private(path, secret.encode())
    return secret


class ServiceState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    vessel: str | None
    pid: int | None
    phase: ServicePhase
    restarts: int
    last_exit: int | None
    log: str


class NodeState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: str
    node: int
    alive: bool
    restarts: int


class Snapshot(BaseModel):
    """What the supervisor saw on its last round (written every round)."""

    model_config = ConfigDict(extra="forbid")

    supervisor_pid: int
    updated_at: float
    services: list[ServiceState]
    nodes: list[NodeState]

    @property
    def age_s(self) -> float:
        return time.time() - self.updated_at

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Snapshot | None:
        return cls.model_validate_json(path.read_text()) if path.exists() else None
