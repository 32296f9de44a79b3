"""The read-model store interface and the schema both databases share.

A read model (``fleet``) is a *table set*: its tables carry a generation prefix
(``g3_containers``), and ``projection_catalog`` says which generation is current. A rebuild
writes generation N+1 beside the live one and swaps the catalog row in one transaction, so
readers see the old tables or the new ones, never a half-built set.

The SQL is written once with ``?`` placeholders and ``ON CONFLICT`` upserts, which SQLite
(3.24+) and PostgreSQL both run; an implementation only supplies connections.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from fleetedge.projections.exceptions import UnknownProjectionError

Row = tuple[Any, ...]

# table → (columns DDL, primary key). Types chosen to mean the same on both databases.
TABLES: dict[str, tuple[str, str]] = {
    "containers": (
        (
            "container_id TEXT NOT NULL, vessel_id TEXT NOT NULL, window_seq BIGINT NOT NULL, "
            "cargo TEXT NOT NULL, state TEXT NOT NULL, window_end TEXT NOT NULL, "
            "setpoint_c DOUBLE PRECISION, supply_mean_c DOUBLE PRECISION, "
            "return_mean_c DOUBLE PRECISION, mean_power_kw DOUBLE PRECISION, "
            "lat DOUBLE PRECISION, lon DOUBLE PRECISION"
        ),
        "container_id",
    ),
    "container_windows": (
        (
            "container_id TEXT NOT NULL, seq BIGINT NOT NULL, vessel_id TEXT NOT NULL, "
            "window_start TEXT NOT NULL, window_end TEXT NOT NULL, readings BIGINT NOT NULL, "
            "first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, setpoint_c DOUBLE PRECISION, "
            "supply_min_c DOUBLE PRECISION, supply_max_c DOUBLE PRECISION, "
            "supply_mean_c DOUBLE PRECISION, return_min_c DOUBLE PRECISION, "
            "return_max_c DOUBLE PRECISION, return_mean_c DOUBLE PRECISION, "
            "mean_power_kw DOUBLE PRECISION, seconds_out_of_range BIGINT, "
            "seconds_door_open BIGINT, seconds_defrost BIGINT, seconds_power_off BIGINT, "
            "slot_s BIGINT, out_of_range_slots BIGINT, door_open_slots BIGINT, "
            "defrost_slots BIGINT, power_off_slots BIGINT, reading_slots BIGINT, pulp TEXT, "
            "treatment BIGINT, resent BIGINT, sent_at TEXT, received_at TEXT"
        ),
        "container_id, seq",
    ),
    "alerts": (
        (
            "alert_id TEXT NOT NULL, vessel_id TEXT NOT NULL, seq BIGINT NOT NULL, "
            "container_id TEXT, bay BIGINT, alert_kind TEXT NOT NULL, severity TEXT NOT NULL, "
            "state TEXT NOT NULL, raised_at TEXT NOT NULL, cleared_at TEXT, summary TEXT NOT NULL"
        ),
        "alert_id",
    ),
    "vessels": (
        (
            "vessel_id TEXT NOT NULL, status_seq BIGINT, status_time TEXT, lat DOUBLE PRECISION, "
            "lon DOUBLE PRECISION, containers_total BIGINT, containers_ok BIGINT, "
            "containers_alarm BIGINT, containers_silent BIGINT, reefer_power_kw DOUBLE PRECISION, "
            "open_alerts BIGINT, link_seq BIGINT, link_state TEXT, link_time TEXT, "
            "backlog_records BIGINT, oldest_unmirrored_s DOUBLE PRECISION, "
            "heartbeat_age_s DOUBLE PRECISION, seconds_to_drain DOUBLE PRECISION"
        ),
        "vessel_id",
    ),
    "fleet_kpis": ("name TEXT NOT NULL, seq BIGINT NOT NULL, doc TEXT NOT NULL", "name"),
    "completeness": (
        (
            "container_id TEXT NOT NULL, vessel_id TEXT NOT NULL, received BIGINT NOT NULL, "
            "windows BIGINT NOT NULL, ranges TEXT NOT NULL, gaps TEXT NOT NULL, "
            "gap_count BIGINT NOT NULL"
        ),
        "container_id",
    ),
    # Commands as issued (fleet.command-log), and each step of their lifecycle with its time.
    "commands": (
        (
            "command_id TEXT NOT NULL, vessel_id TEXT NOT NULL, container_id TEXT, "
            "action TEXT NOT NULL, params TEXT NOT NULL, issued_by TEXT NOT NULL, "
            "requested_at TEXT NOT NULL, expires_at TEXT NOT NULL"
        ),
        "command_id",
    ),
    "command_steps": (
        "command_id TEXT NOT NULL, step TEXT NOT NULL, at TEXT NOT NULL, reason TEXT",
        "command_id, step",
    ),
    # Where each input partition is read up to: written in the same transaction as the rows.
    "offsets": (
        "topic TEXT NOT NULL, part BIGINT NOT NULL, next_offset BIGINT NOT NULL",
        "topic, part",
    ),
}
PROJECTIONS = ("fleet",)
CATALOG = "projection_catalog"


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = (), /) -> object: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> object: ...

    def fetchall(self) -> list[Row]: ...


class Database(Protocol):
    """Where read models live. ``transaction`` commits on normal exit, rolls back on error."""

    dialect: str

    def transaction(self) -> AbstractContextManager[Cursor]: ...

    def close(self) -> None: ...


def table(generation: int, name: str) -> str:
    return f"g{generation}_{name}"


def check_name(name: str) -> None:
    if name not in PROJECTIONS:
        raise UnknownProjectionError(
            f"no read model named {name!r}; there is {', '.join(PROJECTIONS)}"
        )


def create_catalog(db: Database) -> None:
    with db.transaction() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {CATALOG} (name TEXT PRIMARY KEY, generation BIGINT "
            "NOT NULL, building BIGINT)"
        )


def create_tables(db: Database, generation: int) -> None:
    with db.transaction() as cur:
        for name, (columns, key) in TABLES.items():
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {table(generation, name)} "
                f"({columns}, PRIMARY KEY ({key}))"
            )


def drop_tables(db: Database, generation: int) -> None:
    with db.transaction() as cur:
        for name in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table(generation, name)}")


def current_generation(db: Database, name: str = "fleet") -> int | None:
    """The generation readers should use; None before the first projector ran."""
    create_catalog(db)
    with db.transaction() as cur:
        cur.execute(f"SELECT generation FROM {CATALOG} WHERE name = ?", (name,))
        rows = cur.fetchall()
    return int(rows[0][0]) if rows else None


def ensure_projection(db: Database, name: str = "fleet") -> int:
    """The current generation of ``name``, creating generation 1 on first use."""
    check_name(name)
    create_catalog(db)
    current = current_generation(db, name)
    if current is not None:
        return current
    create_tables(db, 1)
    with db.transaction() as cur:
        cur.execute(
            f"INSERT INTO {CATALOG} (name, generation) VALUES (?, 1) ON CONFLICT (name) DO NOTHING",
            (name,),
        )
    return current_generation(db, name) or 1


def rows(db: Database, generation: int, name: str) -> Iterator[Row]:
    """Every row of one table in primary-key order."""
    _, key = TABLES[name]
    with db.transaction() as cur:
        cur.execute(f"SELECT * FROM {table(generation, name)} ORDER BY {key}")
        yield from cur.fetchall()


def write_offsets(cur: Cursor, generation: int, offsets: dict[tuple[str, int], int]) -> None:
    """Record where each input partition has been read up to (next offset to read)."""
    cur.executemany(
        f"INSERT INTO {table(generation, 'offsets')} (topic, part, next_offset) VALUES (?, ?, ?) "
        "ON CONFLICT (topic, part) DO UPDATE SET next_offset = excluded.next_offset",
        [(topic, part, offset) for (topic, part), offset in offsets.items()],
    )
