"""The root of every error FleetEdge raises.

Each package keeps its own ``exceptions.py`` whose classes derive from :class:`FleetEdgeError`,
so a caller can catch one type for "anything FleetEdge refused to do"::

    FleetEdgeError
    └── runtime.exceptions.RuntimeSetupError, ClusterError, ...   (see fleetedge.runtime.exceptions)
"""

from __future__ import annotations

from typing import ClassVar


class FleetEdgeError(Exception):
    """Base of all FleetEdge errors.

    ``retriable`` says whether the same call may succeed if simply tried again later (a broker
    still starting, say); ``hint`` tells the operator what to do about it.
    """

    retriable: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message
