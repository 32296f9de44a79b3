"""The fleet API (FastAPI), put together from its routers: reads and live updates
(:mod:`~fleetedge.api.reads`), operator actions (:mod:`~fleetedge.api.actions`), reefer commands
(:mod:`~fleetedge.api.commands`), compliance reports (:mod:`~fleetedge.api.reports`); the
dashboard and Prometheus metrics. Any project error a route meets answers by its kind
(:func:`fleetedge.api.exceptions.error_response`); who may read and write is
:mod:`fleetedge.api.auth`. Open without a token, whatever the reads: the dashboard's page and
static files (they hold no fleet data), ``/livez`` (for probes), and the OpenAPI documents.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from fleetedge.api import auth
from fleetedge.api.actions import action_routes
from fleetedge.api.commands import command_routes
from fleetedge.api.exceptions import error_response
from fleetedge.api.operations import Operations
from fleetedge.api.reader import ReadModel
from fleetedge.api.reads import read_routes
from fleetedge.api.reports import report_routes
from fleetedge.exceptions import FleetEdgeError
from fleetedge.security.tokens import TokenBook

STATIC = resources.files("fleetedge.api") / "static"


def create_app(
    reader: ReadModel,
    operations: Operations,
    tokens: TokenBook,
    *,
    stream_every_s: float = 1.0,
    reads_need_token: bool = False,
    tls: bool = False,
) -> FastAPI:
    """The app; ``reads_need_token`` for an API that listens beyond loopback, ``tls`` when it
    serves HTTPS itself (its session cookie is then sent over HTTPS only)."""
    app = FastAPI(
        title="FleetEdge API",
        version="1",
        description="The fleet's read model, live updates, and operator actions.",
    )

    @app.exception_handler(FleetEdgeError)
    def _refused(_request: Request, exc: FleetEdgeError) -> JSONResponse:
        return error_response(exc)

    writes = auth.writes(tokens)
    access = auth.ReadAccess(tokens, required=reads_need_token, secure=tls)
    reads = [access.dependency()] if reads_need_token else []
    app.include_router(read_routes(reader, operations, stream_every_s), dependencies=reads)
    app.include_router(action_routes(operations, writes))
    app.include_router(command_routes(reader, operations, tokens, writes), dependencies=reads)
    app.include_router(report_routes(reader), dependencies=reads)
    app.include_router(access.session_routes())

    @app.get("/livez", include_in_schema=False)
    def livez() -> PlainTextResponse:
        """The process answers: for liveness probes, which carry no token."""
        return PlainTextResponse("ok")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/metrics", access.guard(make_asgi_app()))
    return app
