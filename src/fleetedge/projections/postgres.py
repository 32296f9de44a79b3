"""The read models in PostgreSQL, through psycopg 3 (``?`` placeholders become ``%s``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from fleetedge.projections.base import Cursor, Row


class _Cursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> None:
        self._cur.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> None:
        self._cur.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cur.fetchall()]


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn = psycopg.connect(dsn, autocommit=False)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._conn.cursor() as cur:
            try:
                yield _Cursor(cur)
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    def __repr__(self) -> str:
        return f"postgresql:{self._conn.info.dbname}@{self._conn.info.host}:{self._conn.info.port}"
