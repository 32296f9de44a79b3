"""Raw reefer telemetry: one reading of one container's controller."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import Centi, ContainerId, Event, Micro


class Cargo(StrEnum):
    """Cargo classes with distinct temperature regimes (see devices.cargo for setpoints)."""

    FROZEN = "frozen"
    CHILLED = "chilled"
    BANANAS = "bananas"
    PHARMA = "pharma"
    COLD_TREATMENT = "cold_treatment"


class Compressor(StrEnum):
    OFF = "off"
    RUNNING = "running"
    FAILED = "failed"


AirTemp = Annotated[Centi, Field(ge=-70, le=70)]


class ReeferReading(Event):
    """One reading of a reefer controller, as the container's telematics unit reports it.

    The unit has a battery, so it keeps reporting (``power_on`` false) when the container loses
    shore or ship power.
    """

    KIND: ClassVar[str] = "reefer.reading"
    TYPE_ID: ClassVar[int] = 1
    VERSION: ClassVar[int] = 1
    kind: Literal["reefer.reading"] = "reefer.reading"
    schema_version: Literal[1] = 1

    container_id: ContainerId
    bay: int = Field(
        ge=0, le=200, description="bay of the stowage plan (power circuits follow bays)"
    )
    cargo: Cargo
    setpoint_c: Annotated[Centi, Field(ge=-40, le=35, description="°C")]
    supply_air_c: Annotated[AirTemp, Field(description="°C, air leaving the evaporator")]
    return_air_c: Annotated[AirTemp, Field(description="°C, air back from the cargo")]
    ambient_c: Annotated[Centi, Field(ge=-60, le=60, description="°C, outside the box")]
    humidity_pct: Annotated[Centi, Field(ge=0, le=100, description="% relative humidity")]
    co2_pct: Annotated[Centi, Field(ge=0, le=100, description="% CO2 by volume")]
    o2_pct: Annotated[Centi, Field(ge=0, le=30, description="% O2 by volume")]
    power_kw: Annotated[Centi, Field(ge=0, le=25, description="kW drawn by the unit")]
    power_on: bool
    compressor: Compressor
    defrost: bool
    door_open: bool
    alarm_codes: tuple[Annotated[int, Field(ge=0, le=999)], ...] = Field(
        default=(), max_length=16, description="controller alarm codes active now"
    )
    lat: Annotated[Micro, Field(ge=-90, le=90)]
    lon: Annotated[Micro, Field(ge=-180, le=180)]
