"""Errors of the ship-to-shore link.

::

    FleetEdgeError
    └── LinkError                  the link (emulator, MirrorMaker 2) could not do what was asked
        ├── LinkToolError          Toxiproxy or tc is missing, or refused a request
        ├── MirrorStartError       a MirrorMaker 2 process exited or never became ready
        ├── LinkNotFoundError      no link is recorded for that vessel
        └── ConnectRestError       Kafka Connect's REST API refused a request, or did not answer
            └── ConnectUnavailable no worker answered, or Connect is rebalancing (retriable)
"""

from __future__ import annotations

from typing import ClassVar

from fleetedge.exceptions import FleetEdgeError


class LinkError(FleetEdgeError):
    """The link could not be brought to, or kept in, the asked state."""


class LinkToolError(LinkError):
    """Toxiproxy or tc is missing, or refused a request."""


class MirrorStartError(LinkError):
    """A MirrorMaker 2 process exited or never became ready (its log tail is in the message)."""


class LinkNotFoundError(LinkError):
    """No link is recorded for the vessel."""


class ConnectRestError(LinkError):
    """Kafka Connect refused a request (its status and message are in ``status``/the text)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class ConnectUnavailable(ConnectRestError):
    """No worker answered, or Connect is rebalancing (409): the same call may work later."""

    retriable: ClassVar[bool] = True
