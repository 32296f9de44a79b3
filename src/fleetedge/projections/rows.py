"""How each fleet topic's records become rows: idempotent upserts keyed by source and sequence.

The fleet topics are the shore's own, validated by the normalizer or written by the analytics,
so records are read as plain JSON here. Every statement is safe to run twice: a window is
inserted once per (container, seq); a latest-state row changes only for a newer sequence. So a
mirrored or replayed duplicate never counts twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import orjson

from fleetedge.events import topics as t
from fleetedge.projections.base import Cursor, table
from fleetedge.shore.tables import container_state

Doc = dict[str, Any]
CHUNK = 500  # rows per multi-row INSERT


def _text(value: Any, option: int = 0) -> str:
    """JSON text of ``value`` (orjson: the stdlib's json.dumps took a fifth of a replay)."""
    return orjson.dumps(value, option=option).decode()


# Compared and hashed by identity: each shape is made once (lru_cache) and is a dict key per row.
@dataclass(frozen=True, eq=False)
class Shape:
    """One kind of row write: ``INSERT INTO t (cols) VALUES (...), ... ON CONFLICT ...``.

    The first ``key`` parameters are the row's key. Among rows of a batch with the same key,
    the one with the highest ``rank`` parameters is the one that counts (newer wins), or the
    first one when ``rank`` is None (insert once): so a batch can be written as one statement
    per shape, with the same result as its rows one by one.
    """

    table: str
    columns: tuple[str, ...]
    tail: str
    key: int
    rank: tuple[int, ...] | None

    @property
    def head(self) -> str:
        return f"INSERT INTO {self.table} ({', '.join(self.columns)})"

    def sql(self, rows: int) -> str:
        one = "(" + ", ".join("?" * len(self.columns)) + ")"
        return f"{self.head} VALUES {', '.join([one] * rows)}{self.tail}"


Statement = tuple[Shape, tuple[Any, ...]]


@lru_cache(maxsize=256)
def _upsert(
    name: str, columns: tuple[str, ...], key: str, newer: str, rank: tuple[int, ...]
) -> Shape:
    """INSERT, or UPDATE of the non-key columns when ``newer`` holds (a SQL condition)."""
    keys = {k.strip() for k in key.split(",")}
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return Shape(
        name, columns, f" ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE {newer}", len(keys), rank
    )


@lru_cache(maxsize=256)
def _insert_once(name: str, columns: tuple[str, ...], key: str) -> Shape:
    return Shape(name, columns, f" ON CONFLICT ({key}) DO NOTHING", len(key.split(",")), None)


@lru_cache(maxsize=16)
def _window_shapes(gen: int) -> tuple[Shape, Shape]:
    latest_cols = [
        "container_id",
        "vessel_id",
        "window_seq",
        "cargo",
        "state",
        "window_end",
        "setpoint_c",
        "supply_mean_c",
        "return_mean_c",
        "mean_power_kw",
        "lat",
        "lon",
    ]
    containers = table(gen, "containers")
    latest = _upsert(
        containers,
        tuple(latest_cols),
        "container_id",
        f"excluded.window_seq > {containers}.window_seq",
        (2,),
    )
    history_cols = [
        "container_id",
        "seq",
        "vessel_id",
        "window_start",
        "window_end",
        "readings",
        "first_seq",
        "last_seq",
        "setpoint_c",
        "supply_min_c",
        "supply_max_c",
        "supply_mean_c",
        "return_min_c",
        "return_max_c",
        "return_mean_c",
        "mean_power_kw",
        "seconds_out_of_range",
        "seconds_door_open",
        "seconds_defrost",
        "seconds_power_off",
    ]
    history = _insert_once(
        table(gen, "container_windows"), tuple(history_cols), "container_id, seq"
    )
    return latest, history


def _window(gen: int, w: Doc) -> list[Statement]:
    latest, history = _window_shapes(gen)
    return [
        (
            latest,
            (
                w["container_id"],
                w["vessel_id"],
                w["seq"],
                w["cargo"],
                container_state(w),
                w["window_end"],
                w["setpoint_c"],
                w["supply_mean_c"],
                w["return_mean_c"],
                w["mean_power_kw"],
                w["lat"],
                w["lon"],
            ),
        ),
        (
            history,
            (
                w["container_id"],
                w["seq"],
                w["vessel_id"],
                w["window_start"],
                w["window_end"],
                w["count"],
                w["first_seq"],
                w["last_seq"],
                w["setpoint_c"],
                w["supply_min_c"],
                w["supply_max_c"],
                w["supply_mean_c"],
                w["return_min_c"],
                w["return_max_c"],
                w["return_mean_c"],
                w["mean_power_kw"],
                w["seconds_out_of_range"],
                w["seconds_door_open"],
                w["seconds_defrost"],
                w["seconds_power_off"],
            ),
        ),
    ]


def _alert(gen: int, a: Doc) -> list[Statement]:
    name = table(gen, "alerts")
    cols = [
        "alert_id",
        "vessel_id",
        "seq",
        "container_id",
        "bay",
        "alert_kind",
        "severity",
        "state",
        "raised_at",
        "cleared_at",
        "summary",
    ]
    sql = _upsert(name, tuple(cols), "alert_id", f"excluded.seq > {name}.seq", (2,))
    return [(sql, tuple(a.get(c) for c in cols))]


def _status(gen: int, s: Doc) -> list[Statement]:
    name = table(gen, "vessels")
    cols = [
        "vessel_id",
        "status_seq",
        "status_time",
        "lat",
        "lon",
        "containers_total",
        "containers_ok",
        "containers_alarm",
        "containers_silent",
        "reefer_power_kw",
        "open_alerts",
    ]
    doc = dict(s, status_seq=s["seq"], status_time=s["event_time"])
    newer = f"{name}.status_seq IS NULL OR excluded.status_seq > {name}.status_seq"
    shape = _upsert(name, tuple(cols), "vessel_id", newer, (1,))
    return [(shape, tuple(doc.get(c) for c in cols))]


def _link(gen: int, r: Doc) -> list[Statement]:
    name = table(gen, "vessels")
    cols = [
        "vessel_id",
        "link_seq",
        "link_state",
        "link_time",
        "backlog_records",
        "oldest_unmirrored_s",
        "heartbeat_age_s",
        "seconds_to_drain",
    ]
    doc = dict(r, link_seq=r["seq"], link_state=r["state"], link_time=r["event_time"])
    newer = f"{name}.link_seq IS NULL OR excluded.link_seq > {name}.link_seq"
    shape = _upsert(name, tuple(cols), "vessel_id", newer, (1,))
    return [(shape, tuple(doc.get(c) for c in cols))]


@lru_cache(maxsize=16)
def _kpis_shape(gen: int) -> Shape:
    name = table(gen, "fleet_kpis")
    return _upsert(name, ("name", "seq", "doc"), "name", f"excluded.seq > {name}.seq", (1,))


def _kpis(gen: int, k: Doc) -> list[Statement]:
    """A vessel's KPI partial, one row per vessel; the API sums them (shore/kpis.py)."""
    return [(_kpis_shape(gen), (k["vessel_id"], k["seq"], _text(k, orjson.OPT_SORT_KEYS)))]


@lru_cache(maxsize=16)
def _completeness_shape(gen: int) -> Shape:
    name = table(gen, "completeness")
    cols = ("container_id", "vessel_id", "received", "windows", "ranges", "gaps", "gap_count")
    # Ranges only grow, so more readings (or windows) received is the newer record.
    newer = (
        f"excluded.received > {name}.received OR (excluded.received = {name}.received "
        f"AND excluded.windows > {name}.windows)"
    )
    return _upsert(name, cols, "container_id", newer, (2, 3))


def _completeness(gen: int, c: Doc) -> list[Statement]:
    gaps = c["gaps"]
    row = (
        c["container_id"], c["vessel_id"], c["received"], c["windows"], _text(c["ranges"]),
        _text(gaps), len(gaps),
    )  # fmt: skip
    return [(_completeness_shape(gen), row)]


HANDLERS: dict[str, Callable[[int, Doc], list[Statement]]] = {
    t.FLEET_WINDOWS.name: _window,
    t.FLEET_ALERTS.name: _alert,
    t.FLEET_STATUS.name: _status,
    t.FLEET_LINK.name: _link,
    t.FLEET_KPIS.name: _kpis,
    t.FLEET_COMPLETENESS.name: _completeness,
}
TOPICS = tuple(HANDLERS)


def _ranked(row: tuple[Any, ...], rank: tuple[int, ...]) -> tuple[Any, ...]:
    return tuple(row[i] for i in rank)


def _winners(shape: Shape, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of a batch that count, one per key (see :class:`Shape`), in first-seen order."""
    chosen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    rank = shape.rank
    for row in rows:
        key = row[: shape.key]
        held = chosen.get(key)
        newer = rank is not None and held is not None and _ranked(row, rank) > _ranked(held, rank)
        if held is None or newer:
            chosen[key] = row
    return list(chosen.values())


@runtime_checkable
class Copying(Protocol):
    """A cursor that can bulk-load rows (PostgreSQL's COPY) and upsert them in one statement."""

    def copy_upsert(self, shape: Shape, rows: list[tuple[Any, ...]]) -> None: ...


def write(cur: Cursor, gen: int, records: list[tuple[str, bytes]]) -> int:
    """Write a batch of (topic, value); returns how many were skipped as unreadable.

    Rows are grouped by shape and reduced to the one row per key that counts: the same result
    as the records one by one. Each group is then one bulk write: on PostgreSQL a COPY into a
    staging table and one INSERT ... SELECT ... ON CONFLICT (:class:`Copying`; measured in
    BENCHMARKS.md against pipelined single-row upserts); elsewhere multi-row INSERTs (SQLite:
    1.4x faster than executemany).
    """
    skipped = 0
    pending: dict[Shape, list[tuple[Any, ...]]] = defaultdict(list)
    for topic, value in records:
        try:
            statements = HANDLERS[topic](gen, orjson.loads(value))
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            skipped += 1
            continue
        for shape, params in statements:
            pending[shape].append(params)
    for shape, rows in pending.items():
        winners = _winners(shape, rows)
        if isinstance(cur, Copying):
            cur.copy_upsert(shape, winners)
            continue
        for i in range(0, len(winners), CHUNK):
            chunk = winners[i : i + CHUNK]
            cur.execute(shape.sql(len(chunk)), [v for row in chunk for v in row])
    return skipped
