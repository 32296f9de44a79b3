"""The vessel's edge processing: a deterministic, replay-safe core in an exactly-once service.

- ``windows``: per-container event-time window aggregation (order-independent, duplicate-proof);
- ``rules``: the alert rules with de-duplication and bay/vessel power-incident correlation;
- ``logic``: one reading in, the window, alert, status and dead-letter records out;
- ``service``: the exactly-once Kafka service around them (``fleet edge run``);
- ``backfill``: windows rebuilt from raw telemetry when the shore asks (``fleet edge resend``).
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
