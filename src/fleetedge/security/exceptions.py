"""Errors of the security package::

FleetEdgeError
└── SecurityError
    ├── CredentialsError        a principal's credentials are missing or unreadable
    └── AccessAdminError        creating or removing users and ACLs failed
"""

from __future__ import annotations

from fleetedge.exceptions import FleetEdgeError


class SecurityError(FleetEdgeError):
    """Base of the security package's errors."""


class CredentialsError(SecurityError):
    """A principal's credentials are missing or unreadable."""


class AccessAdminError(SecurityError):
    """Creating or removing SCRAM users or ACLs on a cluster failed."""

    retriable = True
