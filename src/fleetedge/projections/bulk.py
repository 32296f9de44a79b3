"""Bulk writing for a rebuild, whose generation nobody reads until it is swapped in.

Two changes from the live projector's per-batch transaction (BENCHMARKS.md, issue I):

- Latest-state rows (upserts: a container's last window, a vessel, an alert, a KPI partial)
  are folded in memory across batches, the row that counts kept as :func:`rows.keep` keeps it,
  and written once per flush: one row per key instead of one per record.
- One writer thread runs the transactions, in order, while the projector decodes the next
  batch: sqlite3 and psycopg release the GIL while the database works, so on two cores the
  decoding and the writing overlap.

The commit protocol holds at flush granularity: a flush's transaction carries the folded rows
and the offsets they reach. History rows written before it are insert-once, so records read
again from those offsets change nothing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from fleetedge.projections import base, rows
from fleetedge.projections.exceptions import ProjectionError

FOLD_ROWS = 200_000  # latest-state rows held before a flush: bounds memory on a large fleet
Job = Callable[[base.Cursor], None]


class BulkWriter:
    """Fold and write a rebuild's batches (see the module docstring); ``finish`` flushes."""

    def __init__(
        self, db: base.Database, generation: int, *, fold_rows: int = FOLD_ROWS, depth: int = 2
    ) -> None:
        self.db = db
        self.generation = generation
        self.fold_rows = fold_rows
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self._held: dict[rows.Shape, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._held_rows = 0
        self._offsets: dict[tuple[str, int], int] = {}

    def start(self) -> BulkWriter:
        self._thread.start()
        return self

    def add(self, batch: rows.Batch, offsets: dict[tuple[str, int], int]) -> None:
        """Queue a batch's insert-once rows, fold its upserts; flush when enough are held."""
        once: dict[rows.Shape, list[tuple[Any, ...]]] = {}
        for shape, found in batch.rows.items():
            if shape.rank is None:
                once[shape] = found
                continue
            chosen = self._held.setdefault(shape, {})
            before = len(chosen)
            rows.keep(shape, chosen, found)
            self._held_rows += len(chosen) - before
        self._offsets.update(offsets)
        if once:
            self._submit(lambda cur: rows.apply(cur, once))
        if self._held_rows >= self.fold_rows:
            self.flush()

    def flush(self) -> None:
        held = {shape: list(chosen.values()) for shape, chosen in self._held.items()}
        offsets = dict(self._offsets)
        self._held.clear()
        self._held_rows = 0

        def job(cur: base.Cursor) -> None:
            rows.apply(cur, held)
            base.write_offsets(cur, self.generation, offsets)

        self._submit(job)

    def finish(self) -> None:
        """Flush what is held and wait until every queued transaction has committed."""
        self.flush()
        self._jobs.join()
        self._raise()

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def _submit(self, job: Job) -> None:
        self._raise()
        self._jobs.put(job)

    def _raise(self) -> None:
        if self._error is not None:
            raise ProjectionError(f"rebuild write failed: {self._error}") from self._error

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:  # after a failure, queued jobs are dropped
                    with self.db.transaction() as cur:
                        job(cur)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the projector's thread
                self._error = exc
            finally:
                self._jobs.task_done()
