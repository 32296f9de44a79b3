"""Where a running fleet keeps its plan, its supervisor's snapshot, its API token and logs.

Everything sits under ``<FLEET_HOME>/fleet``, so ``fleet status``, ``fleet chaos`` and the API
find the fleet that ``fleet up`` started, from any process.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

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


def ensure_token(home: Path) -> str:
    """The operator token of the API: made once, kept readable by its owner only (0600)."""
    path = token_path(home)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token


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
