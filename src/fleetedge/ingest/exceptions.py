"""Errors of the device ingest.

::

    FleetEdgeError
    └── IngestError
        └── MqttConnectionError    the MQTT broker did not accept the bridge (retriable)
"""

from __future__ import annotations

from typing import ClassVar

from fleetedge.exceptions import FleetEdgeError


class IngestError(FleetEdgeError):
    """The ingest could not run."""


class MqttConnectionError(IngestError):
    """No MQTT session could be established."""

    retriable: ClassVar[bool] = True
