"""Errors of compliance reports.

::

    FleetEdgeError
    └── ReportError                a report could not be made
        ├── UnknownContainer       no such container in the read model (404)
        ├── BadReportRequest       a request field is wrong: ``field`` names it (422)
        └── ReportTooLarge         the range holds more windows than a report takes (422)
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class ReportError(FleetEdgeError):
    """A report could not be made."""


class UnknownContainer(ReportError):
    """The read model has no window of the container."""


class BadReportRequest(ReportError):
    """A field of the request is wrong (``field``: ``from``, ``to``, ``schedule``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ReportTooLarge(BadReportRequest):
    """The range holds more windows than one report takes: narrow it."""
