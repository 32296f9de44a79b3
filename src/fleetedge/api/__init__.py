"""The fleet API and the dashboard it serves (the app itself: ``fleetedge.api.app``).

The package does not load the app: readers of the read model (the story, `fleet` commands)
would pay for FastAPI and the PDF reports' matplotlib, a second of CPU per process.
"""

from fleetedge.api.operations import Operations
from fleetedge.api.reader import ReadModel

__all__ = ["Operations", "ReadModel"]
