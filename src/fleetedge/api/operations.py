"""What the API's write endpoints do, behind a protocol the app depends on.

The implementation for a fleet run by ``fleet up`` is
:class:`fleetedge.orchestration.operations.FleetOperations`, injected by ``fleet api serve``;
the API itself imports nothing from the orchestration. Methods return the API's own types and
raise :class:`~fleetedge.api.exceptions.UnknownTarget` for a name that is not there.
"""

from __future__ import annotations

from typing import Any, Protocol

from fleetedge.api.models import FleetProcesses
from fleetedge.commands import CommandRequest
from fleetedge.events import Command


class Operations(Protocol):
    def kill_broker(self, cluster: str, node: int) -> None: ...

    def kill_service(self, name: str) -> int: ...

    def cut_link(self, vessel: str) -> None: ...

    def restore_link(self, vessel: str) -> None: ...

    def start_replay(self) -> bool:
        """Start a rebuild unless one runs; False if one was running."""

    def replay_state(self) -> tuple[bool, dict[str, Any] | None]: ...

    def backfill(self, vessel: str | None) -> int: ...

    def processes(self) -> FleetProcesses:
        """The supervised processes, or ``supervised=False`` when no supervisor answers."""

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        """Send a checked command on its way (:mod:`fleetedge.commands.issuer`)."""
