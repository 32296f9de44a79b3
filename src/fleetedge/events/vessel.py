"""Vessel-level events: the status summary (also the heartbeat), commands and their acks."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import Centi, ContainerId, Event, Micro, UtcTime

Count = Annotated[int, Field(ge=0)]


class VesselStatus(Event):
    """The vessel's summary every interval; its arrival ashore is the vessel's heartbeat."""

    KIND: ClassVar[str] = "vessel.status"
    TYPE_ID: ClassVar[int] = 4
    VERSION: ClassVar[int] = 1
    kind: Literal["vessel.status"] = "vessel.status"
    schema_version: Literal[1] = 1

    containers_total: Count
    containers_ok: Count
    containers_alarm: Count
    containers_silent: Count
    reefer_power_kw: Annotated[Centi, Field(ge=0, le=100_000)]
    lat: Annotated[Micro, Field(ge=-90, le=90)]
    lon: Annotated[Micro, Field(ge=-180, le=180)]
    open_alerts: Count
    edge_lag_records: Count
    edge_healthy: bool


class CommandAction(StrEnum):
    SET_SETPOINT = "set_setpoint"
    DEFROST = "defrost"
    PRE_TRIP_INSPECTION = "pre_trip_inspection"
    CLEAR_ALARMS = "clear_alarms"
    RESEND = "resend"


class Command(Event):
    """An order from shore to a vessel (or one of its containers). ``seq`` numbers the
    commands sent to that vessel; ``expires_at`` bounds how late it may still take effect."""

    KIND: ClassVar[str] = "vessel.command"
    TYPE_ID: ClassVar[int] = 5
    VERSION: ClassVar[int] = 1
    kind: Literal["vessel.command"] = "vessel.command"
    schema_version: Literal[1] = 1

    command_id: uuid.UUID
    action: CommandAction
    container_id: ContainerId | None = None
    params: dict[str, float | int | str] = Field(default_factory=dict)
    issued_by: str = Field(min_length=1, max_length=64)
    expires_at: UtcTime


class CommandStatus(StrEnum):
    QUEUED = "queued"
    ACCEPTED = "accepted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    REJECTED = "rejected"


class CommandAck(Event):
    """The vessel's word on a command, one per status change."""

    KIND: ClassVar[str] = "vessel.command_ack"
    TYPE_ID: ClassVar[int] = 6
    VERSION: ClassVar[int] = 1
    kind: Literal["vessel.command_ack"] = "vessel.command_ack"
    schema_version: Literal[1] = 1

    command_id: uuid.UUID
    status: CommandStatus
    container_id: ContainerId | None = None
    reason: str | None = Field(default=None, max_length=500)
