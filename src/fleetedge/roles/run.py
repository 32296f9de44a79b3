"""Running a role: its services under the process supervisor, until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fleetedge.orchestration.spec import ServiceSpec
from fleetedge.orchestration.supervisor import ProcessSupervisor
from fleetedge.security.clients import CREDENTIALS_ENV, ClientAuth, write_credentials_file
from fleetedge.settings import METRICS_HOST_ENV

START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RolePlan:
    """A role's services, and the directory that holds their logs and the supervisor's view."""

    name: str
    services: list[ServiceSpec]
    state_dir: Path

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"


def supervise(
    plan: RolePlan,
    stop: threading.Event,
    *,
    on_wait: Callable[[list[str]], None],
    on_ready: Callable[[], None],
    on_event: Callable[[str], None],
) -> None:
    """Start every service, wait until all are healthy, then keep them running until ``stop``;
    every service is stopped on the way out, whatever happened."""
    supervisor = ProcessSupervisor(
        plan.services,
        logs=plan.logs,
        snapshot=plan.state_dir / "services.json",
        on_event=on_event,
    )
    try:
        supervisor.start()
        supervisor.wait_healthy(START_TIMEOUT_S, on_wait, stop=stop)
        if not stop.is_set():
            on_ready()
            supervisor.run(stop)
    finally:
        supervisor.stop()


def metrics_on(services: list[ServiceSpec], host: str) -> list[ServiceSpec]:
    """``services`` serving /metrics on ``host`` (their default is 127.0.0.1)."""
    if host == "127.0.0.1":
        return services
    return [s.model_copy(update={"env": {**s.env, METRICS_HOST_ENV: host}}) for s in services]


def identity_env(
    state_dir: Path, name: str, bootstrap: str, auth: ClientAuth | None
) -> dict[str, str]:
    """A service's environment for ``auth``: its 0600 credentials file (no secret on a
    command line); nothing on a plaintext listener."""
    if auth is None:
        return {}
    path = write_credentials_file(state_dir / "clients" / f"{name}.json", bootstrap, auth)
    return {CREDENTIALS_ENV: str(path)}


def voyage_start(state_dir: Path, given: datetime | None) -> datetime:
    """The simulated voyage's start: ``given``, else the one this role kept from its first run
    (its simulator resumes), else now on the minute."""
    if given is not None:
        return given
    path = state_dir / "voyage.json"
    try:
        return datetime.fromisoformat(json.loads(path.read_text())["started_at"])
    except (OSError, ValueError, KeyError):
        started = datetime.now(UTC).replace(second=0, microsecond=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"started_at": started.isoformat()}))
        return started
