"""What every event carries, and the field types the contracts share.

Every event has an ``event_id``, its source (``vessel_id``, and ``container_id`` where it
applies), an ``event_time`` in UTC at millisecond precision, a per-source sequence number
``seq`` (1, 2, 3, ... with no gaps, so consumers can see losses and duplicates) and the
``schema_version`` of its contract.

Measured values carry their resolution in their type (``Centi`` = 0.01, ``Micro`` = 1e-6), so
the compact binary encoding can send them as small integers and decode them exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)


@dataclass(frozen=True)
class Scaled:
    """A decimal resolution: the binary encoding sends ``round(value * factor)`` as an int."""

    factor: int


def _round(digits: int) -> BeforeValidator:
    """Round numbers to the resolution before the range checks, so those land in the schema."""

    def rounded(value: object) -> object:
        if isinstance(value, float | int) and not isinstance(value, bool):
            return round(value, digits)
        return value

    return BeforeValidator(rounded)


def _utc_ms(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


Centi = Annotated[float, _round(2), Scaled(100)]
"""A measured value at 0.01 resolution (°C, %, kW)."""
Micro = Annotated[float, _round(6), Scaled(1_000_000)]
"""Degrees of latitude or longitude at 1e-6 (about 0.1 m)."""
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc_ms)]
"""A timezone-aware instant, normalised to UTC at millisecond precision."""
VesselId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", examples=["vessel-1"])]
ContainerId = Annotated[
    str, Field(pattern=r"^[A-Z]{4}[0-9]{7}$", description="ISO 6346 container number")
]
Seq = Annotated[int, Field(ge=1, description="per-source sequence number, from 1 without gaps")]


class Event(BaseModel):
    """Base of every contract. Subclasses fix ``KIND``, ``TYPE_ID`` and ``VERSION``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    KIND: ClassVar[str]
    TYPE_ID: ClassVar[int]
    VERSION: ClassVar[int]
    SINCE: ClassVar[dict[str, int]] = {}
    """Fields added after version 1, with the version that added them. A document of an older
    version omits them (it is written that way, so a consumer of that version still reads it),
    and the binary layout of a version holds only its own fields, in declaration order."""

    kind: str
    schema_version: int
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    vessel_id: VesselId
    event_time: UtcTime
    seq: Seq

    @model_validator(mode="after")
    def _fields_of_its_version(self) -> Self:
        for name, since in self.SINCE.items():
            default = type(self).model_fields[name].get_default(call_default_factory=True)
            if self.schema_version < since and getattr(self, name) != default:
                raise ValueError(
                    f"{name} came with schema_version {since}; this is {self.schema_version}"
                )
        return self

    @classmethod
    def reads(cls, version: object) -> bool:
        """Whether this code reads documents of ``version`` (every one up to the current)."""
        return (
            isinstance(version, int)
            and not isinstance(version, bool)
            and (1 <= version <= cls.VERSION)
        )

    @classmethod
    def newer_than(cls, version: int) -> set[str]:
        """The fields a document of ``version`` leaves out."""
        return {name for name, since in cls.SINCE.items() if since > version}

    @property
    def source(self) -> str:
        """The sequence-number source: the vessel, or the container on it."""
        container = getattr(self, "container_id", None)
        return f"{self.vessel_id}/{container}" if container else self.vessel_id
