"""Errors of the event contracts.

::

    FleetEdgeError
    └── EventError                 a record is not a valid FleetEdge event
        ├── DecodeError            bytes that are no event of any known encoding
        ├── UnknownEventType       a kind or binary type id no contract defines
        ├── UnsupportedVersion     a schema version this code cannot read
        ├── SchemaViolation        a field missing, of the wrong type or out of its range
        └── ImplausibleEvent       valid alone, impossible in context (unknown source, future time)

Every EventError carries ``reason`` (one line, fit for a dead-letter header) and, where it
applies, the ``field`` at fault.
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class EventError(FleetEdgeError):
    """A record that is not a valid FleetEdge event."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason, hint="the record belongs in the dead-letter topic, not in a retry")
        self.reason = reason
        self.field = field


class DecodeError(EventError):
    """Bytes that decode as no known encoding."""


class UnknownEventType(EventError):
    """A kind or binary type id no contract defines."""


class UnsupportedVersion(EventError):
    """A schema version this code cannot read."""


class SchemaViolation(EventError):
    """A field is missing, of the wrong type, or out of its physical range."""


class ImplausibleEvent(EventError):
    """Valid on its own but impossible in context: an unknown source, a time in the future."""
