"""Errors of rendering deployment files.

::

    FleetEdgeError
    └── DeployError                a role's file cannot be rendered for that target
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class DeployError(FleetEdgeError):
    """A role's file cannot be rendered for the target asked for."""
