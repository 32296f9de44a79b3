"""Read-only access to the fleet read model (the projector's tables), for the API.

Readers never take a write lock: SQLite is opened read-only (WAL lets them read beside the
projector), PostgreSQL in autocommit. Each thread keeps its own connection. Every query reads the
generation the catalog names, so a rebuild's swap is seen at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleetedge.api.exceptions import ReadModelUnavailable
from fleetedge.projections.base import CATALOG, TABLES, table

Row = tuple[Any, ...]


class ReadModel:
    """``rows(sql, params)`` with ``{name}`` placeholders for the current generation's tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path = Path(url.removeprefix("sqlite:///"))
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
        else:
            raise ReadModelUnavailable(f"unsupported database URL {url!r}")

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            if self.dialect == "sqlite":
                if not self.path.exists():
                    raise ReadModelUnavailable(f"no read model at {self.path} yet")
                conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
                )
                conn.execute("PRAGMA busy_timeout=5000")
            else:
                import psycopg  # noqa: PLC0415 - only for PostgreSQL read models

                conn = psycopg.connect(self.url, autocommit=True)
        except (sqlite3.Error, OSError) as exc:
            raise ReadModelUnavailable(f"cannot open the read model: {exc}") from exc
        self._local.conn = conn
        return conn

    def generation(self) -> int | None:
        try:
            found = self._query(f"SELECT generation FROM {CATALOG} WHERE name = ?", ("fleet",))
        except ReadModelUnavailable:
            return None
        return int(found[0][0]) if found else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows of ``sql``, whose ``{containers}``-style names become the live generation's
        tables; no rows before the first projector created them."""
        generation = self.generation()
        if generation is None:
            return []
        names = {n: table(generation, n) for n in TABLES}
        return self._query(sql.format(**names), params)

    def _query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        conn = self._connection()
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        try:
            cur = conn.execute(sql, tuple(params))
            return list(cur.fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise ReadModelUnavailable(f"read model query failed: {exc}") from exc
        except Exception as exc:
            if self.dialect == "postgresql":
                self._local.conn = None
                raise ReadModelUnavailable(f"read model query failed: {exc}") from exc
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
