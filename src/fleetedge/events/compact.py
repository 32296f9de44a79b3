"""The link's compact encoding of a window: what the vessel's aggregates topic carries.

A JSON window is about 840 bytes. Kafka compresses a batch of them to about 50 bytes each,
and 23 of those are the window's id, a uuid5 no compressor can shrink. Across a satellite link
that was most of a container-day's bytes (BENCHMARKS.md, N3). This layout keeps every field and
every value exactly, and leaves out only what the receiver can work out again:

- the id, when it is the one derived from container, window size and seq (``window_id``);
  any other id is sent whole, so the encoding is lossless for every window;
- the names: a msgpack array, the fields in a fixed order;
- the decimals: temperatures as hundredths of a degree off the setpoint (one byte when the
  reefer holds its setpoint), positions in millionths of a degree, instants in milliseconds,
  the end and event time as offsets from the start.

A batch of them compresses to about 15 bytes a window. The bytes start with ``0xc1``, which
msgpack never writes and JSON never starts with, then the layout's version, so
:func:`fleetedge.events.codec.decode` tells the three encodings apart. Only the vessel's
aggregates topic uses it: the shore's normalizer decodes it and writes the fleet topics as
JSON, like everything else ashore.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack

from fleetedge.events.aggregates import ContainerWindow, window_id
from fleetedge.events.exceptions import DecodeError

MAGIC = b"\xc1"
LAYOUT = 1
_HEADER = MAGIC + bytes([LAYOUT])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The fields after the header, in order (a comment per group in ``pack``).
_FIELDS = 39


def _ms(when: datetime) -> int:
    # Exact: the contract keeps instants to the millisecond, and a float holds them exactly.
    return round(when.timestamp() * 1000)


def _when(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _optional_ms(when: datetime | None) -> int | None:
    return None if when is None else _ms(when)


def pack(window: ContainerWindow) -> bytes:
    """The window in the compact layout."""
    w = window
    start = _ms(w.window_start)
    end = _ms(w.window_end)
    setpoint = round(w.setpoint_c * 100)
    derived = window_id(w.container_id, w.window_end - w.window_start, w.seq)
    values = [
        w.schema_version, w.vessel_id, w.container_id, w.cargo.value,
        # when: the start, then the end and the event time as offsets
        start, end - start, _ms(w.event_time) - end, w.seq,
        # the readings covered
        w.count, w.first_seq, w.last_seq - w.first_seq, [list(g) for g in w.gaps],
        # temperatures: the setpoint, the rest in hundredths off it
        setpoint,
        round(w.supply_min_c * 100) - setpoint, round(w.supply_max_c * 100) - setpoint,
        round(w.supply_mean_c * 100) - setpoint, round(w.return_min_c * 100) - setpoint,
        round(w.return_max_c * 100) - setpoint, round(w.return_mean_c * 100) - setpoint,
        round(w.mean_power_kw * 100),
        w.seconds_out_of_range, w.seconds_door_open, w.seconds_defrost, w.seconds_power_off,
        round(w.lat * 1_000_000), round(w.lon * 1_000_000),
        # where in the window (version 2)
        w.slot_s, w.out_of_range_slots, w.door_open_slots, w.defrost_slots, w.power_off_slots,
        w.reading_slots,
        [None if p is None else round(p * 100) for p in w.pulp_max_c], list(w.pulp_slots),
        w.treatment, w.resent, _optional_ms(w.sent_at), _optional_ms(w.received_at),
        # the id, only when it is not the derived one
        None if w.event_id == derived else w.event_id.bytes,
    ]  # fmt: skip
    packed: bytes = msgpack.packb(values, use_bin_type=True)
    return _HEADER + packed


def unpack(data: bytes) -> dict[str, Any]:
    """The window's fields from the compact layout, to be validated as the contract; a
    :class:`DecodeError` when the bytes are not that layout."""
    if data[:1] != MAGIC:
        raise DecodeError("not a compact window (no 0xc1 header)")
    if data[1:2] != bytes([LAYOUT]):
        layout = data[1] if len(data) > 1 else None
        raise DecodeError(f"compact window layout {layout!r}; this code reads {LAYOUT}")
    try:
        values = msgpack.unpackb(data[2:], raw=False, strict_map_key=False)
    except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
        raise DecodeError(f"compact window: not msgpack ({exc})") from exc
    if not isinstance(values, list) or len(values) != _FIELDS:
        shape = len(values) if isinstance(values, list) else type(values).__name__
        raise DecodeError(f"compact window: expected {_FIELDS} fields, got {shape}")
    try:
        return _fields(values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DecodeError(f"compact window: a field has the wrong type ({exc})") from exc


def _fields(v: list[Any]) -> dict[str, Any]:
    (
        version, vessel, container, cargo,
        start, size, event_offset, seq,
        count, first_seq, span, gaps,
        setpoint, s_min, s_max, s_mean, r_min, r_max, r_mean, power,
        s_oor, s_door, s_defrost, s_off, lat, lon,
        slot_s, m_oor, m_door, m_defrost, m_off, m_seen, pulp_max, pulp_slots,
        treatment, resent, sent_at, received_at, raw_id,
    ) = v  # fmt: skip
    window_start = _when(start)
    window_end = _when(start + size)
    event_id = (
        window_id(container, window_end - window_start, seq)
        if raw_id is None
        else uuid.UUID(bytes=raw_id)
    )
    doc: dict[str, Any] = {
        "kind": ContainerWindow.KIND, "schema_version": version, "event_id": event_id,
        "vessel_id": vessel, "event_time": _when(start + size + event_offset), "seq": seq,
        "container_id": container, "cargo": cargo,
        "window_start": window_start, "window_end": window_end,
        "count": count, "first_seq": first_seq, "last_seq": first_seq + span,
        "gaps": [tuple(g) for g in gaps],
        "setpoint_c": setpoint / 100,
        "supply_min_c": (setpoint + s_min) / 100, "supply_max_c": (setpoint + s_max) / 100,
        "supply_mean_c": (setpoint + s_mean) / 100, "return_min_c": (setpoint + r_min) / 100,
        "return_max_c": (setpoint + r_max) / 100, "return_mean_c": (setpoint + r_mean) / 100,
        "mean_power_kw": power / 100,
        "seconds_out_of_range": s_oor, "seconds_door_open": s_door,
        "seconds_defrost": s_defrost, "seconds_power_off": s_off,
        "lat": lat / 1_000_000, "lon": lon / 1_000_000,
        "slot_s": slot_s, "out_of_range_slots": m_oor, "door_open_slots": m_door,
        "defrost_slots": m_defrost, "power_off_slots": m_off, "reading_slots": m_seen,
        "pulp_max_c": tuple(None if p is None else p / 100 for p in pulp_max),
        "pulp_slots": tuple(pulp_slots), "treatment": treatment, "resent": resent,
        "sent_at": None if sent_at is None else _when(sent_at),
        "received_at": None if received_at is None else _when(received_at),
    }  # fmt: skip
    if isinstance(version, int) and version < ContainerWindow.VERSION:
        for name in ContainerWindow.newer_than(version):
            doc.pop(name)
    return doc
