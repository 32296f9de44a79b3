"""The fleet API (FastAPI): the read model for the dashboard and operators, live updates by
server-sent events, and the operator's write endpoints (chaos, replay, backfill commands).

Read endpoints are open (the server listens on 127.0.0.1 only); write endpoints need a token
of the ``operator`` role as ``Authorization: Bearer <token>``: none or an unknown one is 401, a
``viewer``'s is 403. Tokens are checked against their hashes in constant time
(:mod:`fleetedge.security.tokens`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from fleetedge.api import queries
from fleetedge.api.commands import command_routes
from fleetedge.api.exceptions import ReadModelUnavailable, error_response
from fleetedge.api.models import (
    Accepted,
    Alert,
    BackfillRequest,
    BrokerRequest,
    Completeness,
    Container,
    FleetProcesses,
    Health,
    Kpis,
    ReplayStatus,
    ServiceRequest,
    Vessel,
    VesselLink,
    VesselRequest,
    Window,
)
from fleetedge.api.operations import Operations
from fleetedge.api.params import Credentials, VesselId
from fleetedge.api.reader import ReadModel
from fleetedge.api.reports import report_routes
from fleetedge.exceptions import FleetEdgeError
from fleetedge.security.tokens import TokenBook

T = TypeVar("T")
STATIC = resources.files("fleetedge.api") / "static"


def create_app(
    reader: ReadModel,
    operations: Operations,
    tokens: TokenBook,
    *,
    stream_every_s: float = 1.0,
) -> FastAPI:
    app = FastAPI(
        title="FleetEdge API",
        version="1",
        description="The fleet's read model, live updates, and operator actions.",
    )

    def operator(credentials: Credentials) -> None:
        role = tokens.role_of(credentials.credentials) if credentials else None
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "operator token required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if role != "operator":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {role} role may not do this")

    needs_token = Depends(operator)
    writes: dict[str, Any] = {
        "dependencies": [needs_token],
        "responses": {
            401: {"description": "no or unknown token"},
            403: {"description": "a token whose role may not act (viewer)"},
        },
    }

    @app.exception_handler(FleetEdgeError)
    def _refused(_request: Request, exc: FleetEdgeError) -> JSONResponse:
        return error_response(exc)

    # -- reads ----------------------------------------------------------------------------------

    @app.get("/api/health", tags=["fleet"])
    def health() -> Health:
        return Health(generation=reader.generation())

    @app.get("/api/vessels", tags=["fleet"])
    def vessels() -> list[Vessel]:
        return queries.vessels(reader)

    @app.get("/api/vessels/{vessel_id}", tags=["fleet"], responses={404: {}})
    def vessel(vessel_id: str) -> Vessel:
        return _found(queries.vessel(reader, vessel_id), f"vessel {vessel_id}")

    @app.get("/api/link", tags=["fleet"])
    def link_health() -> list[VesselLink]:
        """Each vessel's link as its supervisor last reported it."""
        return [VesselLink(vessel_id=v.vessel_id, link=v.link) for v in queries.vessels(reader)]

    @app.get("/api/vessels/{vessel_id}/containers", tags=["fleet"])
    def vessel_containers(vessel_id: str) -> list[Container]:
        return queries.containers(reader, vessel_id)

    @app.get("/api/containers/{container_id}", tags=["fleet"], responses={404: {}})
    def container(container_id: str) -> Container:
        return _found(queries.container(reader, container_id), f"container {container_id}")

    @app.get("/api/containers/{container_id}/history", tags=["fleet"])
    def container_history(
        container_id: str, limit: Annotated[int, Query(ge=1, le=2000)] = 200
    ) -> list[Window]:
        return queries.history(reader, container_id, limit)

    @app.get("/api/alerts", tags=["fleet"])
    def alerts(
        vessel: VesselId | None = None,
        state: Annotated[str | None, Query(pattern="^(raised|cleared)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[Alert]:
        return queries.alerts(reader, vessel_id=vessel, state=state, limit=limit)

    @app.get("/api/kpis", tags=["fleet"])
    def kpis() -> Kpis:
        return queries.kpis(reader)

    @app.get("/api/completeness", tags=["fleet"])
    def completeness(
        vessel: VesselId | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Completeness:
        return queries.completeness(reader, vessel, limit)

    @app.get("/api/replay", tags=["replay"])
    def replay_status() -> ReplayStatus:
        running, last = operations.replay_state()
        return ReplayStatus(generation=reader.generation(), running=running, last=last)

    @app.get("/api/processes", tags=["operations"])
    def processes() -> FleetProcesses:
        return operations.processes()

    @app.get(
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

    # -- writes ---------------------------------------------------------------------------------

    @app.post("/api/chaos/kill-broker", tags=["operations"], **writes)
    def kill_broker(body: BrokerRequest) -> Accepted:
        operations.kill_broker(body.vessel, body.node)
        return Accepted(done=f"{body.vessel} broker {body.node} killed")

    @app.post("/api/chaos/kill-service", tags=["operations"], **writes)
    def kill_service(body: ServiceRequest) -> Accepted:
        pid = operations.kill_service(body.name)
        return Accepted(done=f"{body.name} (pid {pid}) killed")

    @app.post("/api/chaos/cut-link", tags=["operations"], **writes)
    def cut_link(body: VesselRequest) -> Accepted:
        operations.cut_link(body.vessel)
        return Accepted(done=f"{body.vessel} link cut")

    @app.post("/api/chaos/restore-link", tags=["operations"], **writes)
    def restore_link(body: VesselRequest) -> Accepted:
        operations.restore_link(body.vessel)
        return Accepted(done=f"{body.vessel} link restored")

    @app.post("/api/replay", tags=["replay"], status_code=202, **writes)
    def start_replay() -> Accepted:
        if not operations.start_replay():
            raise HTTPException(status.HTTP_409_CONFLICT, "a rebuild is already running")
        return Accepted(done="rebuild started")

    app.include_router(command_routes(reader, operations, tokens, writes))
    app.include_router(report_routes(reader))

    @app.post("/api/commands/backfill", tags=["operations"], **writes)
    def backfill(body: BackfillRequest) -> Accepted:
        sent = operations.backfill(body.vessel)
        return Accepted(done=f"{sent} backfill requests sent")

    # -- the dashboard --------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/metrics", make_asgi_app())
    return app


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
