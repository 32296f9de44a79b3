"""Errors of the local Kafka runtime.

::

    FleetEdgeError
    ├── RuntimeSetupError          the machine lacks something the runtime needs
    │   ├── JavaNotFoundError      no usable Java 17+
    │   ├── MavenNotFoundError     no `mvn` to fetch the jars with
    │   ├── PostgresError          PostgreSQL missing, or its server would not start
    │   └── JarsNotFetchedError    `fleet runtime fetch` has not been run (or failed)
    └── ClusterError               a cluster could not be brought to, or kept in, the asked state
        ├── ClusterNotFoundError   no recorded cluster of that name
        ├── ClusterExistsError     a cluster of that name is already running
        ├── PortInUseError         a port of the cluster is taken by another process
        ├── DataDirError           a node's data directory is corrupt or belongs to another cluster
        ├── NodeStartError         a node process exited or never became healthy (log tail inside)
        └── ClusterTimeoutError    a condition was not reached before its deadline (retriable)
"""

from __future__ import annotations

from typing import ClassVar

from fleetedge.exceptions import FleetEdgeError


class RuntimeSetupError(FleetEdgeError):
    """The machine lacks something the local Kafka runtime needs."""


class JavaNotFoundError(RuntimeSetupError):
    """No Java 17 or newer was found."""


class MavenNotFoundError(RuntimeSetupError):
    """Maven is needed to fetch the Kafka jars and was not found."""


class PostgresError(RuntimeSetupError):
    """PostgreSQL is missing or its server would not start (its log tail is in the message)."""


class JarsNotFetchedError(RuntimeSetupError):
    """The Kafka jars are not in the cache."""


class ClusterError(FleetEdgeError):
    """A cluster operation failed; ``cluster`` and ``node`` say where."""

    def __init__(
        self,
        message: str,
        *,
        cluster: str | None = None,
        node: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"cluster {cluster!r}" if cluster else "",
                f"node {node}" if node is not None else "",
            )
            if part
        )
        super().__init__(f"{message} [{where}]" if where else message, hint=hint)
        self.cluster = cluster
        self.node = node


class ClusterNotFoundError(ClusterError):
    """No cluster of that name is recorded under the FleetEdge home."""


class ClusterExistsError(ClusterError):
    """The cluster is already running."""


class PortInUseError(ClusterError):
    """A port the cluster needs is held by another process."""


class DataDirError(ClusterError):
    """A node's data directory cannot be used as it is."""


class NodeStartError(ClusterError):
    """A node exited during start-up or never became healthy; the message ends with its log."""


class ClusterTimeoutError(ClusterError):
    """A wait for a cluster condition ran past its deadline."""

    retriable: ClassVar[bool] = True
