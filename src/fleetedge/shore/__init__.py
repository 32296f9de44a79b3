"""Shore: the normalizer that admits every vessel's data, and the fleet-wide analytics."""

import warnings

import authlib.deprecate

# Quix Streams imports confluent-kafka's schema-registry client, which imports authlib's
# deprecated httpx integration; we use neither, and the warning would reach every service log.
# authlib.deprecate installs an "always" filter on import: ours goes in front of it.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
del authlib

from fleetedge.shore.analytics import AnalyticsConfig, FleetAnalytics, ensure_topics  # noqa: E402
from fleetedge.shore.kpis import FleetKpis  # noqa: E402
from fleetedge.shore.normalizer import Normalizer  # noqa: E402

__all__ = ["AnalyticsConfig", "FleetAnalytics", "FleetKpis", "Normalizer", "ensure_topics"]
