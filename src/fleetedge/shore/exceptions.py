"""Errors of the shore analytics.

::

    FleetEdgeError
    └── ShoreError                 a shore service could not go on
        └── AnalyticsError         the fleet analytics stopped on an error it cannot skip
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class ShoreError(FleetEdgeError):
    """A shore service could not go on; it exits and its supervisor restarts it."""


class AnalyticsError(ShoreError):
    """The fleet analytics stopped on an error it cannot skip (a Kafka or state failure)."""
