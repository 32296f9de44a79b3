"""Errors of the API, and the HTTP answer each error of the project gets.

::

    FleetEdgeError
    └── ApiError                   the API could not answer
        ├── ReadModelUnavailable   the read model's database cannot be read (retriable)
        └── UnknownTarget          no service, vessel or node of that name to act on

Any :class:`FleetEdgeError` that reaches a route answers by its kind: retriable ones 503 with
``Retry-After`` (the same call may succeed soon), an unknown target 404, any other refusal 409.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from fleetedge.exceptions import FleetEdgeError

RETRY_AFTER_S = 5


class ApiError(FleetEdgeError):
    """The API could not answer."""


class ReadModelUnavailable(ApiError):
    """The read model's database cannot be read (not created yet, or the server is away)."""

    retriable = True


class UnknownTarget(ApiError):
    """No service, vessel or node of that name to act on."""


def error_response(exc: FleetEdgeError) -> JSONResponse:
    """The answer to ``exc``: 503 + Retry-After if retriable, 404 if unknown, else 409."""
    body = {"detail": exc.message, "hint": exc.hint}
    if exc.retriable:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        return JSONResponse(body, status_code=503, headers=headers)
    return JSONResponse(body, status_code=404 if isinstance(exc, UnknownTarget) else 409)
