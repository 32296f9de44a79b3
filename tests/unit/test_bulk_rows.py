"""A rebuild's fast paths give the rows the record-by-record path gives: windows decoded a
batch at once, latest-state rows folded across batches, written by the writer thread."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from fleetedge.events import topics as t
from fleetedge.projections import digest, ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.bulk import BulkWriter
from fleetedge.projections.exceptions import ProjectionError
from fleetedge.projections.sqlite import SqliteDatabase
from tests.support.fleet import simulate


@pytest.fixture(scope="module")
def records() -> list[tuple[str, bytes]]:
    run = simulate("vessel-7", containers=5, minutes=120, seed=11)
    return run.fleet_records()


def _one_by_one(gen: int, records: list[tuple[str, bytes]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for topic, value in records:
        for shape, row in projection_rows.HANDLERS[topic](gen, orjson.loads(value)):
            out.setdefault(shape.table, []).append(row)
    return out


def _by_table(batch: projection_rows.Batch) -> dict[str, list[tuple[Any, ...]]]:
    return {shape.table: found for shape, found in batch.rows.items()}


def test_a_batch_of_windows_gives_the_rows_of_its_records_one_by_one(records) -> None:
    windows = [r for r in records if r[0] == t.FLEET_WINDOWS.name]
    assert len(windows) > 30
    batch = projection_rows.prepare(3, windows, reduce=False)
    assert batch.skipped == 0
    assert _by_table(batch) == _one_by_one(3, windows)


def test_an_unreadable_window_is_skipped_alone(records) -> None:
    windows = [r for r in records if r[0] == t.FLEET_WINDOWS.name]
    bad = [
        (t.FLEET_WINDOWS.name, b"{not json"),
        (t.FLEET_WINDOWS.name, b'{"container_id": 7}'),
        (t.FLEET_WINDOWS.name, orjson.dumps({**orjson.loads(windows[0][1]), "cargo": None})),
    ]
    del_cargo = orjson.loads(windows[1][1])
    del del_cargo["cargo"]
    bad.append((t.FLEET_WINDOWS.name, orjson.dumps(del_cargo)))
    mixed = windows[:20] + bad + windows[20:]
    batch = projection_rows.prepare(3, mixed, reduce=False)
    # A null cargo was read before and still is: the batch falls back to one by one.
    assert batch.skipped == 3
    assert _by_table(batch) == _one_by_one(3, windows[:20] + bad[2:3] + windows[20:])


def test_a_folded_threaded_write_equals_batch_by_batch_writes(records, tmp_path: Path) -> None:
    # Shuffled, with duplicates: newer and older records of the same keys across batches.
    mixed = records + random.Random(5).sample(records, len(records) // 3)
    random.Random(6).shuffle(mixed)
    batches = [mixed[i : i + 40] for i in range(0, len(mixed), 40)]
    plain = SqliteDatabase(tmp_path / "plain.db")
    gen = ensure_projection(plain)
    for batch in batches:
        with plain.transaction() as cur:
            projection_rows.write(cur, gen, batch)
    bulk = SqliteDatabase(tmp_path / "bulk.db")
    ensure_projection(bulk)
    writer = BulkWriter(bulk, gen, fold_rows=15).start()  # a flush every few batches
    try:
        for batch in batches:
            writer.add(projection_rows.prepare(gen, batch, reduce=False), {("fleet.x", 0): 1})
        writer.finish()
    finally:
        writer.close()
    assert digest(bulk, gen) == digest(plain, gen)
    plain.close()
    bulk.close()


def test_a_failed_write_on_the_writer_thread_raises_in_the_caller(records, tmp_path) -> None:
    db = SqliteDatabase(tmp_path / "rm.db")
    ensure_projection(db)
    writer = BulkWriter(db, 9).start()  # generation 9 has no tables
    try:
        writer.add(projection_rows.prepare(9, records, reduce=False), {})
        with pytest.raises(ProjectionError, match=r"rebuild write failed.*no such table"):
            writer.finish()
    finally:
        writer.close()
    db.close()
