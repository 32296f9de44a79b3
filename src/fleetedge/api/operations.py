"""What the API's write endpoints do, behind an interface the app depends on.

:class:`FleetOperations` acts on the running fleet (chaos through :class:`fleetedge.fleet.chaos.
Chaos`, rebuilds through :func:`fleetedge.projections.replay.rebuild`, backfill requests through
:class:`fleetedge.shore.backfill.BackfillRequester`).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Protocol

import structlog

from fleetedge.commands import CommandRequest
from fleetedge.commands.issuer import CommandIssuer
from fleetedge.events import Command
from fleetedge.exceptions import FleetEdgeError
from fleetedge.fleet.chaos import Chaos
from fleetedge.fleet.state import Snapshot, snapshot_path
from fleetedge.projections import open_database
from fleetedge.projections.replay import rebuild
from fleetedge.settings import RuntimeSettings
from fleetedge.shore.backfill import BackfillRequester, read_completeness

log = structlog.get_logger("fleetedge.api.operations")


class Operations(Protocol):
    def kill_broker(self, cluster: str, node: int) -> None: ...

    def kill_service(self, name: str) -> int: ...

    def cut_link(self, vessel: str) -> None: ...

    def restore_link(self, vessel: str) -> None: ...

    def start_replay(self) -> bool:
        """Start a rebuild unless one runs; False if one was running."""

    def replay_state(self) -> tuple[bool, dict[str, Any] | None]: ...

    def backfill(self, vessel: str | None) -> int: ...

    def snapshot(self) -> Snapshot | None: ...

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        """Send a checked command on its way (:mod:`fleetedge.commands.issuer`)."""


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
        return self.chaos.kill_service(name)

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

    def snapshot(self) -> Snapshot | None:
        return Snapshot.load(snapshot_path(self.cfg.home))

    def issue(self, request: CommandRequest, params: dict[str, float | int | str]) -> Command:
        return self.issuer.issue(request, params)
