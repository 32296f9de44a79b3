"""The roles a deployment runs, each against Kafka someone else may operate.

- a **vessel** (``vessel.toml``): the reefers' source, the edge processor, its resender and
  command handler, on the vessel's own Kafka;
- the **shore** (``shore.toml``): the normalizer, the analytics workers, the projector, the
  backfill requester and the API, on the shore's Kafka.

A role starts no Kafka of its own: its file names the cluster, and :mod:`.preflight` checks
that it answers to the credentials given before anything starts.
"""

from fleetedge.roles.config import KafkaAccess, ShoreConfig, VesselConfig, load_config
from fleetedge.roles.exceptions import ConfigError, RoleError, UnreachableError

__all__ = [
    "ConfigError",
    "KafkaAccess",
    "RoleError",
    "ShoreConfig",
    "UnreachableError",
    "VesselConfig",
    "load_config",
]
