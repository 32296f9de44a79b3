"""The API's seams for tests: the operations it asks of a fleet, recorded; a read model
projected from a simulated vessel's edge run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetedge.api.exceptions import UnknownTarget
from fleetedge.api.models import FleetProcesses
from fleetedge.commands import CommandRequest
from fleetedge.events import Command
from fleetedge.exceptions import FleetEdgeError
from fleetedge.projections import ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.sqlite import SqliteDatabase
from tests.support.fleet import simulate

WRITES = [
    ("/api/chaos/kill-broker", {"vessel": "vessel-7", "node": 2}),
    ("/api/chaos/kill-service", {"name": "edge-vessel-7"}),
    ("/api/chaos/cut-link", {"vessel": "vessel-7"}),
    ("/api/chaos/restore-link", {"vessel": "vessel-7"}),
    ("/api/replay", None),
    ("/api/commands/backfill", {"vessel": "vessel-7"}),
]


class RecordedOperations:
    """The operations seam: records what the API asked for (the real ones act on a fleet and
    are exercised by the browser and e2e tests)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_with: FleetEdgeError | None = None

    def kill_broker(self, cluster: str, node: int) -> None:
        self.calls.append(("kill_broker", (cluster, node)))

    def kill_service(self, name: str) -> int:
        self.calls.append(("kill_service", name))
        if name == "no-such-service":
            raise UnknownTarget(f"no service named {name}", hint="see GET /api/processes")
        return 4242

    def cut_link(self, vessel: str) -> None:
        self.calls.append(("cut_link", vessel))

    def restore_link(self, vessel: str) -> None:
        self.calls.append(("restore_link", vessel))

    def start_replay(self) -> bool:
        self.calls.append(("start_replay", None))
        return True

    def replay_state(self) -> tuple[bool, dict[str, Any] | None]:
        return False, None

    def backfill(self, vessel: str | None) -> int:
        self.calls.append(("backfill", vessel))
        if self.fail_with is not None:
            raise self.fail_with
        return 0

    def processes(self) -> FleetProcesses:
        return FleetProcesses(supervised=False, services=[], nodes=[])

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        self.calls.append(("issue", (request, params)))
        now = datetime.now(UTC)
        return Command(
            event_id=uuid.uuid4(), vessel_id=request.vessel_id, event_time=now, seq=1,
            command_id=uuid.uuid4(), action=request.action, container_id=request.container_id,
            params=params, issued_by=request.issued_by, expires_at=now + request.ttl,
        )  # fmt: skip


def projected_vessel(path: Path) -> Path:
    """A SQLite read model at ``path`` of vessel-7's two hours (8 reefers)."""
    run = simulate("vessel-7", containers=8, minutes=120, seed=5)
    db = SqliteDatabase(path)
    gen = ensure_projection(db)
    with db.transaction() as cur:
        projection_rows.write(cur, gen, run.fleet_records())
    db.close()
    return path
