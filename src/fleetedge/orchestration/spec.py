"""What the process supervisor runs: one :class:`ServiceSpec` per process, in a saved plan."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ServiceSpec(BaseModel):
    """One supervised process: a ``fleet`` sub-command with its arguments.

    ``kind`` groups services of one program (``edge``, ``analytics``...), for chaos and status.
    ``metrics_port`` is where it serves Prometheus metrics (and so shows it is healthy);
    ``health_url`` overrides what is polled (the API's own health endpoint).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: str
    args: tuple[str, ...]
    vessel: str | None = None
    metrics_port: int | None = None
    health_url: str | None = None
    # Extra environment: a shore service's FLEET_KAFKA_CREDENTIALS (a path, never a secret).
    env: dict[str, str] = Field(default_factory=dict)

    @property
    def probe_url(self) -> str | None:
        if self.health_url:
            return self.health_url
        return f"http://127.0.0.1:{self.metrics_port}/metrics" if self.metrics_port else None


class FleetPlan(BaseModel):
    """Everything ``fleet up`` started, saved so that any ``fleet`` process can find it."""

    model_config = ConfigDict(extra="forbid")

    vessels: list[str]
    shore: str = "shore"
    containers: int
    speedup: float
    started_at: str = Field(description="simulated start of every vessel, ISO 8601 UTC")
    database: str
    api_url: str
    services: list[ServiceSpec]
    secure: bool = False
    free_ports: bool = False
    # Reefers per vessel where it differs from ``containers`` (a vessel added later).
    vessel_containers: dict[str, int] = Field(default_factory=dict)

    def service(self, name: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.name == name), None)

    def connect_urls(self) -> list[str]:
        """The REST URLs of the fleet's Connect workers."""
        return [
            s.health_url.rstrip("/") for s in self.services if s.kind == "connect" and s.health_url
        ]

    def containers_of(self, vessel: str) -> int:
        return self.vessel_containers.get(vessel, self.containers)

    def save(self, path: Path) -> None:
        """Write atomically: a running supervisor re-reads the plan when it changes."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> FleetPlan:
        return cls.model_validate_json(path.read_text())
