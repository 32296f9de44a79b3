"""Per-container window aggregates, computed on board and sent ashore."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import Centi, ContainerId, Event, Micro, UtcTime
from fleetedge.events.telemetry import Cargo

Seconds = Annotated[int, Field(ge=0)]
Temp = Annotated[Centi, Field(ge=-70, le=70)]


class ContainerWindow(Event):
    """One container over one event-time window. ``seq`` numbers the container's windows.

    ``first_seq``/``last_seq``/``count`` and ``gaps`` describe the readings it covers, so the
    shore can account for every reading without receiving them.
    """

    KIND: ClassVar[str] = "reefer.window"
    TYPE_ID: ClassVar[int] = 2
    VERSION: ClassVar[int] = 1
    kind: Literal["reefer.window"] = "reefer.window"
    schema_version: Literal[1] = 1

    container_id: ContainerId
    cargo: Cargo
    window_start: UtcTime
    window_end: UtcTime
    count: int = Field(ge=1)
    first_seq: int = Field(ge=1)
    last_seq: int = Field(ge=1)
    gaps: tuple[tuple[int, int], ...] = Field(
        default=(), description="missing seq ranges, inclusive"
    )
    setpoint_c: Temp
    supply_min_c: Temp
    supply_max_c: Temp
    supply_mean_c: Temp
    return_min_c: Temp
    return_max_c: Temp
    return_mean_c: Temp
    mean_power_kw: Annotated[Centi, Field(ge=0, le=25)]
    seconds_out_of_range: Seconds
    seconds_door_open: Seconds
    seconds_defrost: Seconds
    seconds_power_off: Seconds
    lat: Annotated[Micro, Field(ge=-90, le=90)]
    lon: Annotated[Micro, Field(ge=-180, le=180)]
