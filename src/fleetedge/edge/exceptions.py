"""Errors of the edge processor.

::

    FleetEdgeError
    └── EdgeError
        ├── RecoveryStalled    restoring state from the changelog made no progress in time
        └── Refused            a valid reading not counted (dead-lettered with the reason)
            ├── ImplausibleEvent   event time far ahead of the vessel's
            ├── Duplicate          a (container, seq) already counted
            └── Late               its window has closed
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class EdgeError(FleetEdgeError):
    """The edge processor cannot go on."""


class RecoveryStalled(EdgeError):
    """Restoring state from the changelog made no progress before the deadline."""


class Refused(EdgeError):
    """A valid reading the edge does not count: dead-lettered with its reason, kept, never
    crashing the edge. The class name is the dead letter's ``error``."""

    field: str = "event_time"


class ImplausibleEvent(Refused):
    """The reading's event time is far ahead of the vessel's: a broken clock."""


class Duplicate(Refused):
    """A (container, seq) already counted."""

    field = "seq"


class Late(Refused):
    """The reading's window has closed (its end and grace are behind the watermark)."""
