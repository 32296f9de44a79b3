"""Errors of remote commands.

::

    FleetEdgeError
    └── CommandError              a command could not be issued
        └── CommandRefused        a check refused it: nothing was sent (``field`` names why)
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class CommandError(FleetEdgeError):
    """A command could not be issued (the shore cluster did not take it)."""


class CommandRefused(CommandError):
    """A safety check refused the command before anything was sent.

    ``field`` is the request field at fault (``setpoint_c``, ``container_id``, ...);
    ``limited`` marks a refusal by the rate limit, which an API answers with 429.
    """

    def __init__(self, field: str, message: str, *, limited: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.limited = limited
