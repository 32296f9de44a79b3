"""The API's operations on a fleet run by ``fleet up``: chaos through :class:`~fleetedge.
orchestration.chaos.Chaos`, rebuilds through :func:`fleetedge.projections.replay.rebuild`, backfill
requests through :class:`fleetedge.shore.backfill.BackfillRequester`, the supervisor's snapshot as
the API's own :class:`~fleetedge.api.models.FleetProcesses`. Injected into the API, which knows
only the :class:`~fleetedge.api.operations.Operations` protocol."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import structlog

from fleetedge.api.exceptions import UnknownTarget
from fleetedge.api.models import FleetProcesses, NodeStatus, ServiceStatus
from fleetedge.commands import CommandRequest
from fleetedge.commands.issuer import CommandIssuer
from fleetedge.events import Command
from fleetedge.exceptions import FleetEdgeError
from fleetedge.orchestration.chaos import Chaos
from fleetedge.orchestration.exceptions import ServiceNotFoundError
from fleetedge.orchestration.state import Snapshot, snapshot_path
from fleetedge.projections import open_database
from fleetedge.projections.replay import rebuild
from fleetedge.settings import RuntimeSettings
from fleetedge.shore.backfill import BackfillRequester, read_completeness

log = structlog.get_logger("fleetedge.orchestration.operations")
SNAPSHOT_FRESH_S = 10.0  # the supervisor writes one every round (about a second)


class FleetOperations:
    def __init__(self, cfg: RuntimeSettings, bootstrap: str, database: str) -> None:
        self.chaos = Chaos(cfg)
        self.cfg = cfg
        self.bootstrap = bootstrap
        self.database = database
        self._replay: threading.Thread | None = None
        self._last: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.issuer = CommandIssuer(bootstrap)

    def kill_broker(self, cluster: str, node: int) -> None:
        self.chaos.kill_broker(cluster, node)

    def kill_service(self, name: str) -> int:
        try:
            return self.chaos.kill_service(name)
        except ServiceNotFoundError as exc:
            raise UnknownTarget(exc.message, hint=exc.hint) from exc

    def cut_link(self, vessel: str) -> None:
        self.chaos.cut_link(vessel)

    def restore_link(self, vessel: str) -> None:
        self.chaos.restore_link(vessel)

    def start_replay(self) -> bool:
        with self._lock:
            if self._replay is not None and self._replay.is_alive():
                return False
            self._replay = threading.Thread(target=self._rebuild, name="replay", daemon=True)
            self._replay.start()
            return True

    def _rebuild(self) -> None:
        started = time.time()
        db = open_database(self.database)
        try:
            result = rebuild(db, self.bootstrap)
            self._last = {
                "ok": True, "generation": result.generation, "records": result.records,
                "seconds": round(result.seconds, 1), "started_at": started,
            }  # fmt: skip
        except FleetEdgeError as exc:
            log.exception("rebuild failed", error=exc.message)
            self._last = {"ok": False, "error": exc.message, "started_at": started}
        finally:
            db.close()

    def replay_state(self) -> tuple[bool, dict[str, Any] | None]:
        running = self._replay is not None and self._replay.is_alive()
        return running, self._last

    def backfill(self, vessel: str | None) -> int:
        requester = BackfillRequester(self.bootstrap, cooldown=timedelta(0))
        try:
            wanted = [
                c
                for c in read_completeness(self.bootstrap)
                if vessel is None or c.vessel_id == vessel
            ]
            return len(requester.request(wanted))
        finally:
            requester.close()

    def processes(self) -> FleetProcesses:
        snap = Snapshot.load(snapshot_path(self.cfg.home))
        if snap is None:
            return FleetProcesses(supervised=False, services=[], nodes=[])
        return FleetProcesses(
            supervised=snap.age_s < SNAPSHOT_FRESH_S,
            services=[
                ServiceStatus(
                    name=s.name,
                    kind=s.kind,
                    vessel=s.vessel,
                    pid=s.pid,
                    phase=s.phase,
                    restarts=s.restarts,
                )
                for s in snap.services
            ],
            nodes=[NodeStatus(**n.model_dump()) for n in snap.nodes],
        )

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        return self.issuer.issue(request, params)
