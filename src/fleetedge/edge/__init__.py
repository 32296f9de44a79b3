"""The vessel's edge processing (issue C, in progress).

Built: the pure core the stream processor will run, both deterministic and replay-safe:
- ``windows``: per-container event-time window aggregation (order-independent, duplicate-proof);
- ``rules``: the alert rules with de-duplication and bay/vessel power-incident correlation.
Not built yet: the exactly-once Kafka service around them (``fleet edge run``).
"""

from fleetedge.edge.rules import AlertEngine, RuleConfig
from fleetedge.edge.store import DictStore, Store
from fleetedge.edge.windows import WindowConfig, add, finish, start

__all__ = [
    "AlertEngine",
    "DictStore",
    "RuleConfig",
    "Store",
    "WindowConfig",
    "add",
    "finish",
    "start",
]
