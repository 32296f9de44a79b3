"""Typed settings, read from the environment (prefix ``FLEET_``) only at entry points.

Library classes take explicit arguments; the CLI builds them from these settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fleetedge.runtime.jars import KAFKA_VERSION


def _default_home() -> Path:
    return Path.home() / ".fleetedge"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "fleetedge" / f"kafka-{KAFKA_VERSION}"


class RuntimeSettings(BaseSettings):
    """Where clusters live, where the jars are cached, and how the JVMs are sized."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", frozen=True, extra="ignore")

    home: Path = Field(default_factory=_default_home, description="clusters' state and data")
    cache_dir: Path = Field(default_factory=_default_cache, description="fetched Kafka jars")
    java: Path | None = Field(default=None, description="java executable; else JAVA_HOME or PATH")
    broker_heap_mb: int = Field(default=384, ge=128, description="max heap of each broker JVM")
    # Where a service serves /metrics: loopback on a host; a role in a pod sets 0.0.0.0 so a
    # scraper outside the pod reaches it (FLEET_METRICS_HOST, see METRICS_HOST_ENV).
    metrics_host: str = Field(default="127.0.0.1", min_length=1)


METRICS_HOST_ENV = "FLEET_METRICS_HOST"
