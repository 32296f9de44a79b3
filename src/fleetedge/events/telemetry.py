"""Raw reefer telemetry: one reading of one container's controller."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

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
PulpTemp = Annotated[Centi, Field(ge=-40, le=60)]


class ReeferReading(Event):
    """One reading of a reefer controller, as the container's telematics unit reports it.

    The unit has a battery, so it keeps reporting (``power_on`` false) when the container loses
    shore or ship power.

    Version 2 adds the USDA pulp probes of cold-treated cargo (``pulp_c``, ``None`` for a probe
    that gave no value) and ``treatment``. A reading without them is written as version 1, so a
    consumer of version 1 reads every reading of other cargo as before.
    """

    KIND: ClassVar[str] = "reefer.reading"
    TYPE_ID: ClassVar[int] = 1
    VERSION: ClassVar[int] = 2
    SINCE: ClassVar[dict[str, int]] = {"pulp_c": 2, "treatment": 2}
    kind: Literal["reefer.reading"] = "reefer.reading"
    schema_version: Literal[1, 2] = 1

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
    pulp_c: tuple[PulpTemp | None, ...] = Field(
        default=(),
        max_length=8,
        description="°C, the USDA pulp probes in the fruit (v2); null: the probe gave no value",
    )
    treatment: bool = Field(default=False, description="the box runs a cold treatment (v2)")

    @model_validator(mode="before")
    @classmethod
    def _version_of_its_fields(cls, data: object) -> object:
        """A reading given probes or a treatment, and no version, is a version 2 reading."""
        given = isinstance(data, dict) and "schema_version" not in data
        if given and isinstance(data, dict) and (data.get("pulp_c") or data.get("treatment")):
            return {**data, "schema_version": 2}
        return data
