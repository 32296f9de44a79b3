"""Open a read-model store from a URL: ``sqlite:///path/to.db`` or ``postgresql://...``."""

from __future__ import annotations

from pathlib import Path

from fleetedge.projections.base import Database
from fleetedge.projections.exceptions import ProjectionError


def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        from fleetedge.projections.sqlite import SqliteDatabase  # noqa: PLC0415

        return SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from fleetedge.projections.postgres import PostgresDatabase  # noqa: PLC0415

        return PostgresDatabase(url)
    raise ProjectionError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://")
