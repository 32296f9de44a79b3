"""Shore: the normalizer that admits every vessel's data, and the fleet-wide analytics."""

from fleetedge.shore.analytics import FleetAnalytics
from fleetedge.shore.kpis import FleetKpis
from fleetedge.shore.normalizer import Normalizer
from fleetedge.shore.provision import AnalyticsConfig, await_topics, ensure_topics

__all__ = [
    "AnalyticsConfig",
    "FleetAnalytics",
    "FleetKpis",
    "Normalizer",
    "await_topics",
    "ensure_topics",
]
