"""The vessel's edge processing: window aggregates and correlated alerts (issue C, in progress).

Today: the pure, order-independent window aggregation the stream processor will run as its
reducer. The Quix Streams service around it is not built yet.
"""

from fleetedge.edge.windows import WindowConfig, add, finish, start

__all__ = ["WindowConfig", "add", "finish", "start"]
