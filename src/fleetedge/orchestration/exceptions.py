"""Errors of the fleet's orchestration (``fleet up``, the process supervisor, chaos, the demo).

::

    FleetEdgeError
    └── FleetError                 the fleet could not be started, controlled or checked
        ├── ServiceNotFoundError   no supervised service of that name
        └── StoryError             a step of the demo story did not happen in time
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class FleetError(FleetEdgeError):
    """The fleet could not be started, controlled or checked."""


class ServiceNotFoundError(FleetError):
    """No supervised service has that name."""


class StoryError(FleetError):
    """A step of the demo story did not happen by its deadline."""
