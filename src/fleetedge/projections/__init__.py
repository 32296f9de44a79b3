"""Read models (SQLite or PostgreSQL) built from the fleet topics, and their rebuild by replay."""

from fleetedge.projections.base import Database, current_generation, ensure_projection
from fleetedge.projections.open import open_database
from fleetedge.projections.projector import Projector
from fleetedge.projections.replay import RebuildResult, digest, rebuild

__all__ = [
    "Database",
    "Projector",
    "RebuildResult",
    "current_generation",
    "digest",
    "ensure_projection",
    "open_database",
    "rebuild",
]
