"""The root of every error FleetEdge raises.

Each package keeps its own ``exceptions.py`` whose classes derive from :class:`FleetEdgeError`,
so a caller can catch one type for "anything FleetEdge refused to do"::

    FleetEdgeError
    ├── events.EventError            a record that does not meet its contract
    ├── runtime.RuntimeSetupError    Java, the jars, a cluster (also ClusterError, ...)
    ├── security.SecurityError       the CA, credentials, ACLs, tokens
    ├── devices.DeviceError          the simulator and the reefer controllers
    ├── ingest.IngestError           the MQTT bridge
    ├── link.LinkError               MirrorMaker 2, Connect and the link emulator
    ├── edge.EdgeError               the edge processor
    ├── shore.ShoreError             the normalizer, analytics and backfill ashore
    ├── commands.CommandError        reefer commands
    ├── reports.ReportError          compliance reports
    ├── projections.ProjectionError  the read model
    ├── api.ApiError                 the API
    └── orchestration.FleetError     `fleet up`, the supervisor, chaos, the story, the check

``retriable`` on a class says the same call may succeed later; :mod:`fleetedge.runtime.retry`
sorts Kafka's own errors the same way, and services retry what is retriable.
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
