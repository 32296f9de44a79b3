"""The API's operator actions: chaos, a read model rebuild, backfill requests. Each needs an
operator's token (``writes`` holds that check, see :func:`fleetedge.api.auth.writes`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from fleetedge.api.models import (
    Accepted,
    BackfillRequest,
    BrokerRequest,
    ServiceRequest,
    VesselRequest,
)
from fleetedge.api.operations import Operations


def action_routes(operations: Operations, writes: dict[str, Any]) -> APIRouter:
    router = APIRouter()

    @router.post("/api/chaos/kill-broker", tags=["operations"], **writes)
    def kill_broker(body: BrokerRequest) -> Accepted:
        operations.kill_broker(body.vessel, body.node)
        return Accepted(done=f"{body.vessel} broker {body.node} killed")

    @router.post("/api/chaos/kill-service", tags=["operations"], **writes)
    def kill_service(body: ServiceRequest) -> Accepted:
        pid = operations.kill_service(body.name)
        return Accepted(done=f"{body.name} (pid {pid}) killed")

    @router.post("/api/chaos/cut-link", tags=["operations"], **writes)
    def cut_link(body: VesselRequest) -> Accepted:
        operations.cut_link(body.vessel)
        return Accepted(done=f"{body.vessel} link cut")

    @router.post("/api/chaos/restore-link", tags=["operations"], **writes)
    def restore_link(body: VesselRequest) -> Accepted:
        operations.restore_link(body.vessel)
        return Accepted(done=f"{body.vessel} link restored")

    @router.post("/api/replay", tags=["replay"], status_code=202, **writes)
    def start_replay() -> Accepted:
        if not operations.start_replay():
            raise HTTPException(status.HTTP_409_CONFLICT, "a rebuild is already running")
        return Accepted(done="rebuild started")

    @router.post("/api/commands/backfill", tags=["operations"], **writes)
    def backfill(body: BackfillRequest) -> Accepted:
        sent = operations.backfill(body.vessel)
        return Accepted(done=f"{sent} backfill requests sent")

    return router
