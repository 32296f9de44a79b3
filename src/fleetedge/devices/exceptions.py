"""Errors of the device simulator.

::

    FleetEdgeError
    └── DeviceError
        ├── ScriptError       a fault script line that cannot be understood
        └── ProduceError      readings the cluster did not acknowledge
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class DeviceError(FleetEdgeError):
    """The simulator could not do what it was asked."""


class ScriptError(DeviceError):
    """A fault script line that cannot be understood."""


class ProduceError(DeviceError):
    """Readings the cluster did not acknowledge."""
