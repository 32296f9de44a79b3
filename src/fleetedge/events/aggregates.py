"""Per-container window aggregates, computed on board and sent ashore."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import Centi, ContainerId, Event, Micro, UtcTime
from fleetedge.events.telemetry import Cargo

Seconds = Annotated[int, Field(ge=0)]
Temp = Annotated[Centi, Field(ge=-70, le=70)]
Mask = Annotated[int, Field(ge=0, lt=2**63, description="bit i: slot i of the window")]


class ContainerWindow(Event):
    """One container over one event-time window. ``seq`` numbers the container's windows.

    ``first_seq``/``last_seq``/``count`` and ``gaps`` describe the readings it covers, so the
    shore can account for every reading without receiving them.

    Version 2 adds what a compliance report needs without the raw readings:
    - where in the window each condition held: one bit per ``slot_s`` seconds from
      ``window_start`` (bit 0 the first slot), so episodes can be placed to the reading;
    - the USDA pulp probes: each probe's highest value and the slots it reported in;
    - ``resent``: rebuilt aboard on the shore's request (a backfill);
    - ``sent_at``/``received_at``: when the vessel wrote it and when the shore took it in
      (stamped ashore by the normalizer), so the shore can tell what arrived late.
    """

    KIND: ClassVar[str] = "reefer.window"
    TYPE_ID: ClassVar[int] = 2
    VERSION: ClassVar[int] = 2
    SINCE: ClassVar[dict[str, int]] = dict.fromkeys(
        (
            "slot_s", "out_of_range_slots", "door_open_slots", "defrost_slots",
            "power_off_slots", "reading_slots", "pulp_max_c", "pulp_slots", "treatment",
            "resent", "sent_at", "received_at",
        ),
        2,
    )  # fmt: skip
    kind: Literal["reefer.window"] = "reefer.window"
    schema_version: Literal[1, 2] = 2

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
    slot_s: int = Field(default=60, ge=1, description="seconds per bit of the *_slots masks")
    out_of_range_slots: Mask = 0
    door_open_slots: Mask = 0
    defrost_slots: Mask = 0
    power_off_slots: Mask = 0
    reading_slots: Mask = 0
    pulp_max_c: tuple[Temp | None, ...] = Field(
        default=(), max_length=8, description="°C, each pulp probe's highest value (null: none)"
    )
    pulp_slots: tuple[Mask, ...] = Field(
        default=(), max_length=8, description="the slots each pulp probe reported in"
    )
    treatment: bool = False
    resent: bool = Field(default=False, description="rebuilt aboard on the shore's request")
    sent_at: UtcTime | None = Field(default=None, description="written aboard (stamped ashore)")
    received_at: UtcTime | None = Field(default=None, description="taken in ashore")


@functools.lru_cache(maxsize=8192)
def window_id(container_id: str, size: timedelta, seq: int) -> uuid.UUID:
    """The id the edge gives a container's window: derived, so a replay or a re-send aboard
    makes the same one, and the link's compact encoding can leave it out. Cached: the edge
    makes it as it closes the window and the encoding asks again right after."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:window:{container_id}:{size}:{seq}")
