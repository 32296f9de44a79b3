"""Alerts raised on board by the edge's correlation rules."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from fleetedge.events.base import ContainerId, Event, UtcTime


class AlertKind(StrEnum):
    TEMPERATURE_EXCURSION = "temperature_excursion"
    POWER_LOSS = "power_loss"
    BAY_POWER_INCIDENT = "bay_power_incident"
    VESSEL_POWER_INCIDENT = "vessel_power_incident"
    SETPOINT_MISMATCH = "setpoint_mismatch"
    DOOR_OPEN = "door_open"
    COMPRESSOR_FAILURE = "compressor_failure"
    SENSOR_FAULT = "sensor_fault"
    SILENT = "silent"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class Alert(Event):
    """A condition raised or cleared. ``alert_id`` is the same on both; ``seq`` numbers the
    vessel's alert events."""

    KIND: ClassVar[str] = "reefer.alert"
    TYPE_ID: ClassVar[int] = 3
    VERSION: ClassVar[int] = 1
    kind: Literal["reefer.alert"] = "reefer.alert"
    schema_version: Literal[1] = 1

    alert_id: uuid.UUID
    alert_kind: AlertKind
    severity: Severity
    state: AlertState
    container_id: ContainerId | None = None
    bay: int | None = Field(default=None, ge=0, le=200)
    raised_at: UtcTime
    cleared_at: UtcTime | None = None
    summary: str = Field(max_length=200)
    evidence: dict[str, float | int | str] = Field(default_factory=dict)
