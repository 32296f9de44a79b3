"""Errors of the shore analytics.

::

    FleetEdgeError
    └── ShoreError                 a shore service could not go on
        ├── AnalyticsError         the fleet analytics stopped on an error it cannot skip
        └── ShoreBusy              the shore cluster did not answer in time (retriable)
"""

from __future__ import annotations

from typing import ClassVar

from fleetedge.exceptions import FleetEdgeError


class ShoreError(FleetEdgeError):
    """A shore service could not go on; it exits and its supervisor restarts it."""


class AnalyticsError(ShoreError):
    """The fleet analytics stopped on an error it cannot skip (a Kafka or state failure)."""


class ShoreBusy(ShoreError):
    """The shore cluster did not answer in time; the same call may succeed later."""

    retriable: ClassVar[bool] = True
