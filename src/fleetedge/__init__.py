"""FleetEdge: resilient, event-driven telemetry for a container-shipping fleet on Apache Kafka."""

from fleetedge.exceptions import FleetEdgeError

__all__ = ["FleetEdgeError", "__version__"]
__version__ = "0.1.0"
