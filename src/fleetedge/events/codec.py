"""Encodings of the contracts: JSON (readable, the default) and a compact binary one.

Binary layout: a msgpack array ``[type_id, schema_version, value, value, ...]`` holding the
model's fields in declaration order (``kind`` and ``schema_version`` excepted), with

- ``Centi``/``Micro`` values as integers of their resolution (a temperature is 1-3 bytes),
- UUIDs as 16 raw bytes, instants as integer milliseconds since the epoch,
- enumerations as the member's index (appending members is compatible, reordering is not),
- anything nested (tuples, dicts) as msgpack of its JSON form.

JSON documents start with ``{`` and msgpack arrays never do, so :func:`decode` tells the two
apart without a header. It also reads the link's compact window layout
(:mod:`fleetedge.events.compact`), which starts with a byte msgpack never writes.
"""

from __future__ import annotations

import json
import types
import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Literal, Protocol, Union, get_args, get_origin

import msgpack
from pydantic import BaseModel, ValidationError

from fleetedge.events import compact
from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert
from fleetedge.events.base import Event, Scaled
from fleetedge.events.deadletter import DeadLetter
from fleetedge.events.exceptions import (
    DecodeError,
    SchemaViolation,
    UnknownEventType,
    UnsupportedVersion,
)
from fleetedge.events.link import LinkReport
from fleetedge.events.telemetry import ReeferReading
from fleetedge.events.vessel import Command, CommandAck, VesselStatus

EVENT_TYPES: tuple[type[Event], ...] = (
    ReeferReading,
    ContainerWindow,
    Alert,
    VesselStatus,
    Command,
    CommandAck,
    DeadLetter,
    LinkReport,
)
BY_KIND = {cls.KIND: cls for cls in EVENT_TYPES}
BY_TYPE_ID = {cls.TYPE_ID: cls for cls in EVENT_TYPES}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEADER_FIELDS = ("kind", "schema_version")


class Codec(Protocol):
    name: str

    def encode(self, event: Event) -> bytes: ...

    def decode(self, data: bytes) -> Event: ...


def _schema_violation(exc: ValidationError, kind: str) -> SchemaViolation:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    value = first.get("input")
    shown = repr(value)[:60] if not isinstance(value, dict) else "{...}"
    reason = f"{kind}: field {field!r} {first['msg'].lower()} (got {shown})"
    if len(exc.errors()) > 1:
        reason += f" and {len(exc.errors()) - 1} more error(s)"
    return SchemaViolation(reason, field=field)


def validate_as(cls: type[Event], data: dict[str, Any]) -> Event:
    """``cls.model_validate(data)`` with pydantic's error turned into a SchemaViolation."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _schema_violation(exc, cls.KIND) from exc


class JsonCodec:
    """UTF-8 JSON, self-describing through ``kind`` and ``schema_version``."""

    name = "json"

    def encode(self, event: Event) -> bytes:
        return event.model_dump_json(exclude=type(event).newer_than(event.schema_version)).encode()

    def decode(self, data: bytes) -> Event:
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DecodeError(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise DecodeError(f"a JSON {type(raw).__name__}, not an event object")
        cls = _class_for_kind(raw.get("kind"))
        _check_version(cls, raw.get("schema_version"))
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise _schema_violation(exc, cls.KIND) from exc


def _check_version(cls: type[Event], version: object) -> None:
    if not cls.reads(version):
        raise UnsupportedVersion(
            f"{cls.KIND} schema_version {version!r}; this code reads 1 to {cls.VERSION}",
            field="schema_version",
        )


def _class_for_kind(kind: object) -> type[Event]:
    if not isinstance(kind, str) or kind not in BY_KIND:
        raise UnknownEventType(f"unknown event kind {kind!r}", field="kind")
    return BY_KIND[kind]


def _unwrap(annotation: Any) -> tuple[Any, Scaled | None]:
    """The base type of an annotation and its Scaled resolution, through Optional/Annotated."""
    scaled: Scaled | None = None
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            args = get_args(annotation)
            scaled = next((m for m in args[1:] if isinstance(m, Scaled)), scaled)
            annotation = args[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation, scaled
            annotation = options[0]
        else:
            return annotation, scaled


def _to_wire(value: Any, annotation: Any) -> Any:  # noqa: PLR0911 - one return per wire type
    if value is None:
        return None
    _, scaled = _unwrap(annotation)
    if scaled is not None:
        return round(value * scaled.factor)
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, datetime):
        return (value - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, Enum):
        return list(type(value)).index(value)
    if isinstance(value, bool | int | float | str | bytes):
        return value
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _from_wire(value: Any, annotation: Any) -> Any:
    if value is None:
        return None
    base, scaled = _unwrap(annotation)
    if scaled is not None:
        return value / scaled.factor
    if base is uuid.UUID:
        return uuid.UUID(bytes=value)
    if base is datetime or (isinstance(base, type) and issubclass(base, datetime)):
        return _EPOCH + timedelta(milliseconds=value)
    if isinstance(base, type) and issubclass(base, Enum):
        return list(base)[value]
    return value


def _wire_fields(cls: type[Event], version: int) -> list[tuple[str, Any]]:
    """The fields of ``cls``'s binary layout at ``version``."""
    left_out = cls.newer_than(version)
    return [
        (name, info.annotation)
        for name, info in cls.model_fields.items()
        if name not in _HEADER_FIELDS and name not in left_out
    ]


class BinaryCodec:
    """The compact msgpack encoding described in the module docstring."""

    name = "binary"

    def encode(self, event: Event) -> bytes:
        cls, version = type(event), event.schema_version
        values = [_to_wire(getattr(event, n), a) for n, a in _wire_fields(cls, version)]
        packed: bytes = msgpack.packb([cls.TYPE_ID, version, *values], use_bin_type=True)
        return packed

    def decode(self, data: bytes) -> Event:
        try:
            raw = msgpack.unpackb(data, raw=False, strict_map_key=False)
        except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as exc:
            # TypeError: random bytes can ask for a map keyed by a list, for one.
            raise DecodeError(f"not msgpack: {exc}") from exc
        if not isinstance(raw, list) or len(raw) < 2:
            raise DecodeError("not a FleetEdge binary event (expected [type, version, ...])")
        type_id, version, *values = raw
        cls = BY_TYPE_ID.get(type_id) if isinstance(type_id, int) else None
        if cls is None:
            raise UnknownEventType(f"unknown binary event type {type_id!r}", field="kind")
        _check_version(cls, version)
        fields = _wire_fields(cls, version)
        if len(values) != len(fields):
            raise SchemaViolation(
                f"{cls.KIND}: {len(values)} binary fields, the contract has {len(fields)}"
            )
        try:
            data_dict = {n: _from_wire(v, a) for (n, a), v in zip(fields, values, strict=True)}
            data_dict["schema_version"] = version
        except (TypeError, ValueError, IndexError) as exc:
            raise SchemaViolation(f"{cls.KIND}: a binary field has the wrong type ({exc})") from exc
        return validate_as(cls, data_dict)


JSON = JsonCodec()
BINARY = BinaryCodec()
CODECS: dict[str, Codec] = {"json": JSON, "binary": BINARY}
Encoding = Literal["json", "binary"]


def decode(data: bytes) -> Event:
    """Decode any of the encodings: JSON starts with ``{``, a compact window (the link's,
    :mod:`fleetedge.events.compact`) with ``0xc1``, which msgpack never writes, and the binary
    one with neither."""
    if not data:
        raise DecodeError("empty record")
    if data[:1] == compact.MAGIC:
        doc = compact.unpack(data)
        _check_version(ContainerWindow, doc["schema_version"])
        return validate_as(ContainerWindow, doc)
    return (JSON if data[:1] == b"{" else BINARY).decode(data)
