"""The API's command endpoints: issue a reefer command (operator role), list commands.

A command is checked before anything is sent (:func:`fleetedge.commands.check`): a refusal is
a 422 whose ``loc`` names the field at fault, a flood for one container a 429. A command that
passes goes to the shore cluster in one transaction (:mod:`fleetedge.commands.issuer`) and is
answered 202 with its id, expiry and first step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from fleetedge.api import queries
from fleetedge.api.models import CommandBody, CommandStep, CommandView
from fleetedge.api.operations import Operations
from fleetedge.api.params import Credentials, VesselId
from fleetedge.api.reader import ReadModel
from fleetedge.commands import CommandRefused, CommandRequest, RateLimiter, Target, check
from fleetedge.events.telemetry import Cargo
from fleetedge.events.vessel import CommandAction
from fleetedge.exceptions import FleetEdgeError
from fleetedge.security.tokens import TokenBook


def command_routes(
    reader: ReadModel,
    operations: Operations,
    tokens: TokenBook,
    writes: dict[str, Any],
) -> APIRouter:
    """The routes; ``writes`` holds the write endpoints' operator check (401/403, before the
    body is looked at) and its documented responses."""
    router = APIRouter()
    limiter = RateLimiter()

    @router.post(
        "/api/commands",
        tags=["commands"],
        status_code=202,
        dependencies=writes["dependencies"],
        responses={
            **writes["responses"],
            422: {"description": "a parameter or the container refused; nothing was sent"},
            429: {"description": "too many commands for this container; nothing was sent"},
        },
    )
    def send_command(body: CommandBody, credentials: Credentials) -> CommandView:
        """Order a reefer: checked here (422 names the field), then queued for its vessel."""
        holder = tokens.holder(credentials.credentials) if credentials else None
        request = CommandRequest(
            vessel_id=body.vessel,
            container_id=body.container_id,
            action=CommandAction(body.action),
            setpoint_c=body.setpoint_c,
            ttl=timedelta(seconds=body.ttl_s),
            issued_by=holder.name if holder else "operator",
        )
        found = queries.container(reader, body.container_id)
        target = Target(found.container_id, found.vessel_id, Cargo(found.cargo)) if found else None
        try:
            params = check(request, target)
            limiter.take(body.container_id)
        except CommandRefused as exc:
            if exc.limited:
                raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, exc.message) from exc
            raise RequestValidationError(
                [{"loc": ("body", exc.field), "msg": exc.message, "type": "value_error"}]
            ) from exc
        try:
            command = operations.issue(request, params)
        except FleetEdgeError:
            limiter.give_back(body.container_id)
            raise
        return CommandView(
            command_id=str(command.command_id),
            vessel_id=command.vessel_id,
            container_id=command.container_id,
            action=command.action.value,
            params=dict(command.params),
            issued_by=command.issued_by,
            requested_at=command.event_time.isoformat(),
            expires_at=command.expires_at.isoformat(),
            status="requested",
            steps=[CommandStep(step="requested", at=command.event_time.isoformat(), reason=None)],
        )

    @router.get("/api/commands", tags=["commands"])
    def list_commands(
        vessel: VesselId | None = None,
        container: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[CommandView]:
        """Commands, newest first, each with its lifecycle (the stream says when to refetch)."""
        return queries.commands(reader, vessel_id=vessel, container_id=container, limit=limit)

    return router
