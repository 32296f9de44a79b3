"""Errors of the ship-to-shore link.

::

    FleetEdgeError
    └── LinkError                  the link (emulator, MirrorMaker 2) could not do what was asked
        ├── LinkToolError          Toxiproxy or tc is missing, or refused a request
        ├── MirrorStartError       a MirrorMaker 2 process exited or never became ready
        └── LinkNotFoundError      no link is recorded for that vessel
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class LinkError(FleetEdgeError):
    """The link could not be brought to, or kept in, the asked state."""


class LinkToolError(LinkError):
    """Toxiproxy or tc is missing, or refused a request."""


class MirrorStartError(LinkError):
    """A MirrorMaker 2 process exited or never became ready (its log tail is in the message)."""


class LinkNotFoundError(LinkError):
    """No link is recorded for the vessel."""
