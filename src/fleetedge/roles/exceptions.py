"""Errors of a role's configuration and start (``fleet vessel run``, ``fleet shore run``).

::

    FleetEdgeError
    └── RoleError                  a role could not be configured or started
        ├── ConfigError            the role's file is not valid: names the file and the key
        └── UnreachableError       its Kafka does not answer, or refuses the credentials
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class RoleError(FleetEdgeError):
    """A role could not be configured or started."""


class ConfigError(RoleError):
    """The role's configuration file is not valid."""


class UnreachableError(RoleError):
    """The Kafka a role's file names does not answer, or refuses its credentials."""
