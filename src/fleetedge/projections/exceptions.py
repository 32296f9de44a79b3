"""Errors of the read models.

::

    FleetEdgeError
    └── ProjectionError            a read model could not be written or rebuilt
        ├── ReplayDeadlineError    a rebuild did not catch up before its deadline
        └── UnknownProjectionError no read model of that name
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class ProjectionError(FleetEdgeError):
    """A read model could not be written or rebuilt."""


class ReplayDeadlineError(ProjectionError):
    """A rebuild did not catch up before its deadline; the live read model is untouched."""


class UnknownProjectionError(ProjectionError):
    """No read model has that name."""
