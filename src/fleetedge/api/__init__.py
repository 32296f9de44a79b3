"""The fleet API and the dashboard it serves."""

from fleetedge.api.app import create_app
from fleetedge.api.operations import Operations
from fleetedge.api.reader import ReadModel

__all__ = ["Operations", "ReadModel", "create_app"]
