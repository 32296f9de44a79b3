"""The API's read routes: the read model for the dashboard and operators, and its changes as
server-sent events. Open to any caller on 127.0.0.1; an API beyond it puts them behind a token
(:mod:`fleetedge.api.auth`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from fleetedge.api import queries
from fleetedge.api.exceptions import ReadModelUnavailable
from fleetedge.api.models import (
    Alert,
    Completeness,
    Container,
    FleetProcesses,
    Health,
    Kpis,
    ReplayStatus,
    Vessel,
    VesselLink,
    Window,
)
from fleetedge.api.operations import Operations
from fleetedge.api.params import VesselId
from fleetedge.api.reader import ReadModel

T = TypeVar("T")


def read_routes(reader: ReadModel, operations: Operations, stream_every_s: float) -> APIRouter:
    router = APIRouter()

    @router.get("/api/health", tags=["fleet"])
    def health() -> Health:
        return Health(generation=reader.generation())

    @router.get("/api/vessels", tags=["fleet"])
    def vessels() -> list[Vessel]:
        return queries.vessels(reader)

    @router.get("/api/vessels/{vessel_id}", tags=["fleet"], responses={404: {}})
    def vessel(vessel_id: str) -> Vessel:
        return _found(queries.vessel(reader, vessel_id), f"vessel {vessel_id}")

    @router.get("/api/link", tags=["fleet"])
    def link_health() -> list[VesselLink]:
        """Each vessel's link as its supervisor last reported it."""
        return [VesselLink(vessel_id=v.vessel_id, link=v.link) for v in queries.vessels(reader)]

    @router.get("/api/vessels/{vessel_id}/containers", tags=["fleet"])
    def vessel_containers(vessel_id: str) -> list[Container]:
        return queries.containers(reader, vessel_id)

    @router.get("/api/containers/{container_id}", tags=["fleet"], responses={404: {}})
    def container(container_id: str) -> Container:
        return _found(queries.container(reader, container_id), f"container {container_id}")

    @router.get("/api/containers/{container_id}/history", tags=["fleet"])
    def container_history(
        container_id: str, limit: Annotated[int, Query(ge=1, le=2000)] = 200
    ) -> list[Window]:
        return queries.history(reader, container_id, limit)

    @router.get("/api/alerts", tags=["fleet"])
    def alerts(
        vessel: VesselId | None = None,
        state: Annotated[str | None, Query(pattern="^(raised|cleared)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[Alert]:
        return queries.alerts(reader, vessel_id=vessel, state=state, limit=limit)

    @router.get("/api/kpis", tags=["fleet"])
    def kpis() -> Kpis:
        return queries.kpis(reader)

    @router.get("/api/completeness", tags=["fleet"])
    def completeness(
        vessel: VesselId | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Completeness:
        return queries.completeness(reader, vessel, limit)

    @router.get("/api/replay", tags=["replay"])
    def replay_status() -> ReplayStatus:
        running, last = operations.replay_state()
        return ReplayStatus(generation=reader.generation(), running=running, last=last)

    @router.get("/api/processes", tags=["operations"])
    def processes() -> FleetProcesses:
        return operations.processes()

    @router.get(
        "/api/stream",
        tags=["fleet"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(request: Request) -> StreamingResponse:
        """Server-sent events: ``version`` each time the read model changes (then refetch)."""
        return StreamingResponse(
            _versions(request, lambda: queries.version(reader), stream_every_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )

    return router


def _found(value: T | None, what: str) -> T:
    if value is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
    return value


async def _versions(
    request: Request, version: Callable[[], tuple[int | None, int]], every: float
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    last: tuple[int | None, int] | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        try:
            current = await anyio.to_thread.run_sync(version)
        except ReadModelUnavailable:
            current = None
        if current is not None and current != last:
            last = current
            quiet = 0.0
            data = json.dumps({"generation": current[0], "offsets": current[1]})
            yield f"event: version\ndata: {data}\n\n"
        else:
            quiet += every
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
        await asyncio.sleep(every)
