"""Errors of the edge processor.

::

    FleetEdgeError
    └── EdgeError
        └── RecoveryStalled    restoring state from the changelog made no progress in time
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class EdgeError(FleetEdgeError):
    """The edge processor cannot go on."""


class RecoveryStalled(EdgeError):
    """Restoring state from the changelog made no progress before the deadline."""
