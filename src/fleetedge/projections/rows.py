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
from operator import itemgetter
from typing import Any, Protocol, runtime_checkable

import msgspec
import orjson

from fleetedge.commands.lifecycle import Step, step_of
from fleetedge.events import topics as t
from fleetedge.events.vessel import CommandStatus
from fleetedge.projections.base import Cursor, table
from fleetedge.shore.tables import container_state, state_of

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


_LATEST_HEAD = ("container_id", "vessel_id", "window_seq", "cargo")
_LATEST_TAIL = (
    "window_end", "setpoint_c", "supply_mean_c", "return_mean_c", "mean_power_kw", "lat", "lon",
)  # fmt: skip
_HISTORY = (
    "container_id", "seq", "vessel_id", "window_start", "window_end", "readings", "first_seq",
    "last_seq", "setpoint_c", "supply_min_c", "supply_max_c", "supply_mean_c", "return_min_c",
    "return_max_c", "return_mean_c", "mean_power_kw", "seconds_out_of_range",
    "seconds_door_open", "seconds_defrost", "seconds_power_off",
)  # fmt: skip
# Version 2's fields (a version 1 window has their defaults); ``pulp`` is JSON of
# [[max, slots], ...] per probe, booleans are 0/1.
_HISTORY_V2 = (
    "slot_s", "out_of_range_slots", "door_open_slots", "defrost_slots", "power_off_slots",
    "reading_slots", "pulp", "treatment", "resent", "sent_at", "received_at",
)  # fmt: skip
# A window's fields in column order (itemgetter builds the row in C: a replay decodes every
# window); the columns named differently from the window's fields are renamed here.
_RENAMED = {"window_seq": "seq", "readings": "count"}
_latest_head = itemgetter(*(_RENAMED.get(c, c) for c in _LATEST_HEAD))
_latest_tail = itemgetter(*_LATEST_TAIL)
_history = itemgetter(*(_RENAMED.get(c, c) for c in _HISTORY))


@lru_cache(maxsize=16)
def _window_shapes(gen: int) -> tuple[Shape, Shape]:
    containers = table(gen, "containers")
    latest = _upsert(
        containers,
        (*_LATEST_HEAD, "state", *_LATEST_TAIL),
        "container_id",
        f"excluded.window_seq > {containers}.window_seq",
        (2,),
    )
    history = _insert_once(
        table(gen, "container_windows"), (*_HISTORY, *_HISTORY_V2), "container_id, seq"
    )
    return latest, history


def _pulp(maxima: Any, slots: Any) -> str | None:
    return _text([[m, s] for m, s in zip(maxima, slots, strict=True)]) if maxima else None


def _window(gen: int, w: Doc) -> list[Statement]:
    latest, history = _window_shapes(gen)
    v2 = (
        w.get("slot_s", 60), w.get("out_of_range_slots", 0), w.get("door_open_slots", 0),
        w.get("defrost_slots", 0), w.get("power_off_slots", 0), w.get("reading_slots", 0),
        _pulp(w.get("pulp_max_c", ()), w.get("pulp_slots", ())), int(w.get("treatment", False)),
        int(w.get("resent", False)), w.get("sent_at"), w.get("received_at"),
    )  # fmt: skip
    return [
        (latest, (*_latest_head(w), container_state(w), *_latest_tail(w))),
        (history, (*_history(w), *v2)),
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


_COMMAND = ("command_id", "vessel_id", "container_id", "action", "params", "issued_by")
_STEP = ("command_id", "step", "at", "reason")


def _command(gen: int, c: Doc) -> list[Statement]:
    """A command as requested: its row, and its first step (insert once: ids are unique)."""
    commands = _insert_once(
        table(gen, "commands"), (*_COMMAND, "requested_at", "expires_at"), "command_id"
    )
    steps = _insert_once(table(gen, "command_steps"), _STEP, "command_id, step")
    row = (*(c.get(k) for k in _COMMAND[:4]), _text(c.get("params", {}), orjson.OPT_SORT_KEYS))
    return [
        (commands, (*row, c["issued_by"], c["event_time"], c["expires_at"])),
        (steps, (c["command_id"], Step.REQUESTED.value, c["event_time"], None)),
    ]


def _ack(gen: int, a: Doc) -> list[Statement]:
    """An acknowledgement: the step it records, kept once with its first time."""
    step = step_of(CommandStatus(a["status"]))
    if step is None:
        return []
    steps = _insert_once(table(gen, "command_steps"), _STEP, "command_id, step")
    return [(steps, (a["command_id"], step.value, a["event_time"], a.get("reason")))]


HANDLERS: dict[str, Callable[[int, Doc], list[Statement]]] = {
    t.FLEET_WINDOWS.name: _window,
    t.FLEET_ALERTS.name: _alert,
    t.FLEET_STATUS.name: _status,
    t.FLEET_LINK.name: _link,
    t.FLEET_KPIS.name: _kpis,
    t.FLEET_COMPLETENESS.name: _completeness,
    t.FLEET_COMMAND_LOG.name: _command,
    t.FLEET_ACKS.name: _ack,
}
TOPICS = tuple(HANDLERS)
_UNREADABLE = (orjson.JSONDecodeError, msgspec.DecodeError, ValueError, KeyError, TypeError)


class _Window(msgspec.Struct):
    """The fields of a window the read model keeps, the first 20 in ``_HISTORY`` order: a
    replay decodes every window, and msgspec into a typed struct took half of orjson's time
    into a dict (BENCHMARKS.md). Other fields are skipped; a missing or mistyped one raises."""

    container_id: str
    seq: int
    vessel_id: str
    window_start: str
    window_end: str
    count: int
    first_seq: int
    last_seq: int
    setpoint_c: float
    supply_min_c: float
    supply_max_c: float
    supply_mean_c: float
    return_min_c: float
    return_max_c: float
    return_mean_c: float
    mean_power_kw: float
    seconds_out_of_range: int
    seconds_door_open: int
    seconds_defrost: int
    seconds_power_off: int
    cargo: str
    lat: float
    lon: float
    slot_s: int = 60
    out_of_range_slots: int = 0
    door_open_slots: int = 0
    defrost_slots: int = 0
    power_off_slots: int = 0
    reading_slots: int = 0
    pulp_max_c: list[float | None] = msgspec.field(default_factory=list)
    pulp_slots: list[int] = msgspec.field(default_factory=list)
    treatment: bool = False
    resent: bool = False
    sent_at: str | None = None
    received_at: str | None = None


_decode_windows = msgspec.json.Decoder(_Window).decode_lines
_astuple = msgspec.structs.astuple


def _windows(gen: int, values: list[bytes]) -> list[tuple[Shape, list[tuple[Any, ...]]]]:
    """A batch's windows at once (most of a replay): raises on the first unreadable record."""
    if any(b"\n" in v for v in values):
        raise ValueError("a window spans lines")  # read one by one: decode_lines would split it
    docs = _decode_windows(b"\n".join(values))
    latest, history = _window_shapes(gen)
    width = len(_HISTORY)
    return [
        (
            latest,
            [
                (
                    w.container_id,
                    w.vessel_id,
                    w.seq,
                    w.cargo,
                    state_of(w.seconds_power_off, w.seconds_out_of_range, w.seconds_door_open),
                    w.window_end,
                    w.setpoint_c,
                    w.supply_mean_c,
                    w.return_mean_c,
                    w.mean_power_kw,
                    w.lat,
                    w.lon,
                )
                for w in docs
            ],
        ),
        (
            history,
            [
                (
                    *_astuple(w)[:width],
                    w.slot_s,
                    w.out_of_range_slots,
                    w.door_open_slots,
                    w.defrost_slots,
                    w.power_off_slots,
                    w.reading_slots,
                    _pulp(w.pulp_max_c, w.pulp_slots),
                    int(w.treatment),
                    int(w.resent),
                    w.sent_at,
                    w.received_at,
                )
                for w in docs
            ],
        ),
    ]


# Topics whose batches are read at once; a batch that raises is read record by record.
_BATCHED = {t.FLEET_WINDOWS.name: _windows}


def keep(
    shape: Shape, chosen: dict[tuple[Any, ...], tuple[Any, ...]], rows: list[tuple[Any, ...]]
) -> None:
    """Fold ``rows`` into ``chosen`` (key → the row that counts so far, see :class:`Shape`)."""
    width = shape.key
    if shape.rank is None:
        for row in rows:
            chosen.setdefault(row[:width], row)
        return
    ranked = itemgetter(*shape.rank)
    get = chosen.get
    for row in rows:
        key = row[:width]
        held = get(key)
        if held is None or ranked(row) > ranked(held):
            chosen[key] = row


def _winners(shape: Shape, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of a batch that count, one per key, in first-seen order."""
    chosen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    keep(shape, chosen, rows)
    return list(chosen.values())


@runtime_checkable
class Copying(Protocol):
    """A cursor that can bulk-load rows (PostgreSQL's COPY) and upsert them in one statement."""

    def copy_upsert(self, shape: Shape, rows: list[tuple[Any, ...]]) -> None: ...


@dataclass
class Batch:
    """A batch's rows, grouped by shape and reduced to the one row per key that counts."""

    rows: dict[Shape, list[tuple[Any, ...]]]
    skipped: int


def prepare(gen: int, records: list[tuple[str, bytes]], *, reduce: bool = True) -> Batch:
    """Decode a batch of (topic, value) into its rows; unreadable records are counted, not
    raised. Pure Python, no database: a caller may prepare one batch while another is written.
    ``reduce=False`` leaves the rows of each shape as read, for a caller that folds them.
    """
    by_topic: dict[str, list[bytes]] = defaultdict(list)
    for topic, value in records:
        by_topic[topic].append(value)
    skipped = 0
    pending: dict[Shape, list[tuple[Any, ...]]] = defaultdict(list)
    for topic, values in by_topic.items():
        fast = _BATCHED.get(topic)
        if fast is not None:
            try:
                for shape, found in fast(gen, values):
                    pending[shape].extend(found)
                continue
            except _UNREADABLE:
                pass  # one bad record: read this topic's records one by one below
        handler = HANDLERS[topic]
        for value in values:
            try:
                statements = handler(gen, orjson.loads(value))
            except _UNREADABLE:
                skipped += 1
                continue
            for shape, params in statements:
                pending[shape].append(params)
    if not reduce:
        return Batch(pending, skipped)
    return Batch({shape: _winners(shape, rows) for shape, rows in pending.items()}, skipped)


def apply(cur: Cursor, rows: dict[Shape, list[tuple[Any, ...]]]) -> None:
    """One bulk write per shape: on PostgreSQL a COPY into a staging table and one INSERT ...
    SELECT ... ON CONFLICT (:class:`Copying`; measured in BENCHMARKS.md against pipelined
    single-row upserts); elsewhere multi-row INSERTs (SQLite: 1.4x faster than executemany).
    """
    for shape, winners in rows.items():
        if isinstance(cur, Copying):
            cur.copy_upsert(shape, winners)
            continue
        for i in range(0, len(winners), CHUNK):
            chunk = winners[i : i + CHUNK]
            cur.execute(shape.sql(len(chunk)), [v for row in chunk for v in row])


def write(cur: Cursor, gen: int, records: list[tuple[str, bytes]]) -> int:
    """Write a batch of (topic, value): the same result as its records one by one. Returns how
    many were skipped as unreadable."""
    batch = prepare(gen, records)
    apply(cur, batch.rows)
    return batch.skipped
