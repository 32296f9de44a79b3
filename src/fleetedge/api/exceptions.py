"""Errors of the API.

::

    FleetEdgeError
    └── ApiError                   the API could not answer
        └── ReadModelUnavailable   the read model's database cannot be read
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class ApiError(FleetEdgeError):
    """The API could not answer."""


class ReadModelUnavailable(ApiError):
    """The read model's database cannot be read (not created yet, or the server is away)."""

    retriable = True
