"""The read models in PostgreSQL, through psycopg 3 (``?`` placeholders become ``%s``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from fleetedge.projections.base import Cursor, Row
from fleetedge.projections.rows import Shape


class _Cursor:
    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> None:
        self._cur.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> None:
        self._cur.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cur.fetchall()]

    def copy_upsert(self, shape: Shape, rows: list[tuple[Any, ...]]) -> None:
        """COPY ``rows`` into a temporary staging table like the target, then upsert them all
        with one INSERT ... SELECT carrying the shape's ON CONFLICT clause."""
        stage = f"stage_{shape.table}"
        columns = ", ".join(shape.columns)
        self._cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {shape.table})")
        with self._cur.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self._cur.execute(
            f"INSERT INTO {shape.table} ({columns}) SELECT {columns} FROM {stage}{shape.tail}"
        )
        # Two shapes may share a table (a vessel's status and its link): empty it for the next.
        self._cur.execute(f"DELETE FROM {stage}")


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        # A read model's rows and offsets commit together, so a transaction PostgreSQL loses in
        # a crash rewinds both and the projector reads those records again: no need to wait
        # for each commit's fsync (replay 40k to 60k records/s, BENCHMARKS.md).
        self._conn = psycopg.connect(dsn, autocommit=False, options="-c synchronous_commit=off")

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
