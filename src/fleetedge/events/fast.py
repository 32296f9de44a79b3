"""The hot path's reading decoder: JSON readings the contract accepts as written, fast.

The edge decodes every reading. Validating each through pydantic cost most of its time, so
:func:`decode_reading` first tries msgspec against a mirror of :class:`ReeferReading`'s schema,
at least as strict as the model: every field present and of its exact type, the same ranges
and patterns, values already at their resolution (a ``Centi`` rounds to itself), a UTC time at
millisecond precision, the fields of the version it names. A document that passes is built as
the model without validating it again (``model_construct``); the reading is the one pydantic
would have made. Anything else (an error, or only a value that pydantic would round or
coerce) goes through the contract's own decoder, which makes the reading or the error and its
reason exactly as before. The contract tests hold the two paths equal.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from fleetedge.events.base import Event
from fleetedge.events.codec import decode
from fleetedge.events.telemetry import Cargo, Compressor, ReeferReading

_Air = Annotated[float, msgspec.Meta(ge=-70, le=70)]
_Pulp = Annotated[float, msgspec.Meta(ge=-40, le=60)]
_CENTI = (
    "setpoint_c", "supply_air_c", "return_air_c", "ambient_c", "humidity_pct", "co2_pct",
    "o2_pct", "power_kw",
)  # fmt: skip


class _Reading(msgspec.Struct, forbid_unknown_fields=True):
    """ReeferReading's JSON document, every field required but its version's optional ones."""

    kind: Literal["reefer.reading"]
    schema_version: Literal[1, 2]
    event_id: uuid.UUID
    vessel_id: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{0,31}\Z")]
    event_time: datetime
    seq: Annotated[int, msgspec.Meta(ge=1)]
    container_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{4}[0-9]{7}\Z")]
    bay: Annotated[int, msgspec.Meta(ge=0, le=200)]
    cargo: Cargo
    setpoint_c: Annotated[float, msgspec.Meta(ge=-40, le=35)]
    supply_air_c: _Air
    return_air_c: _Air
    ambient_c: Annotated[float, msgspec.Meta(ge=-60, le=60)]
    humidity_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    co2_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    o2_pct: Annotated[float, msgspec.Meta(ge=0, le=30)]
    power_kw: Annotated[float, msgspec.Meta(ge=0, le=25)]
    power_on: bool
    compressor: Compressor
    defrost: bool
    door_open: bool
    alarm_codes: Annotated[
        tuple[Annotated[int, msgspec.Meta(ge=0, le=999)], ...], msgspec.Meta(max_length=16)
    ]
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    pulp_c: Annotated[tuple[_Pulp | None, ...], msgspec.Meta(max_length=8)] = ()
    treatment: bool = False


_decoder = msgspec.json.Decoder(_Reading)
_new = object.__new__
_ALL = frozenset(_Reading.__struct_fields__)
_V1 = _ALL - set(ReeferReading.SINCE)
_set = object.__setattr__


def decode_reading(data: bytes) -> Event:
    """The event in ``data``: a reading by the fast path when it is one written at its
    resolution, else whatever :func:`fleetedge.events.codec.decode` makes of it (or raises)."""
    try:
        doc = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return decode(data)
    if not _as_the_model_keeps_it(doc):
        return decode(data)
    return _construct(msgspec.structs.asdict(doc), _given(doc))


def _construct(values: dict[str, object], given: set[str]) -> ReeferReading:
    """The model holding ``values`` (every field, already valid) without validating them:
    what ``model_construct`` ends with, without its per-field default and alias handling,
    which cost as much as the decoding. The contract tests hold the result equal to pydantic's."""
    reading = _new(ReeferReading)
    _set(reading, "__dict__", values)
    _set(reading, "__pydantic_fields_set__", given)
    _set(reading, "__pydantic_extra__", None)
    _set(reading, "__pydantic_private__", None)
    return reading


def _as_the_model_keeps_it(doc: _Reading) -> bool:
    """Whether the model would keep every value as decoded (no rounding, no conversion) and
    accept the version's fields."""
    when = doc.event_time
    if when.tzinfo is not UTC or when.microsecond % 1000:
        return False
    for name in _CENTI:
        value = getattr(doc, name)
        if round(value, 2) != value:
            return False
    if round(doc.lat, 6) != doc.lat or round(doc.lon, 6) != doc.lon:
        return False
    if any(p is not None and round(p, 2) != p for p in doc.pulp_c):
        return False
    return doc.schema_version == 2 or not (doc.pulp_c or doc.treatment)


def _given(doc: _Reading) -> set[str]:
    """The fields the document named, as pydantic records them (``exclude_unset``): a version 1
    document is written without its version 2 fields (see ``Event.newer_than``)."""
    return set(_ALL if doc.schema_version == 2 else _V1)
