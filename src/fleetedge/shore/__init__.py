"""Shore: the normalizer that admits every vessel's data, and the fleet-wide analytics."""

from fleetedge.shore.analytics import AnalyticsConfig, FleetAnalytics, ensure_topics
from fleetedge.shore.kpis import FleetKpis
from fleetedge.shore.normalizer import Normalizer

__all__ = ["AnalyticsConfig", "FleetAnalytics", "FleetKpis", "Normalizer", "ensure_topics"]
