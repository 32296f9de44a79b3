"""What the API answers: the read model's rows as typed records (the OpenAPI document's schemas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fleetedge.events import topics


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Health(_Model):
    status: Literal["ok"] = "ok"
    generation: int | None = Field(description="read-model generation served; null before data")


class LinkHealth(_Model):
    state: str | None = Field(description="online, degraded or offline (the link supervisor's)")
    reported_at: str | None
    backlog_records: int | None = Field(description="records waiting aboard")
    oldest_unmirrored_s: float | None = Field(description="age of the oldest waiting record")
    heartbeat_age_s: float | None
    seconds_to_drain: float | None = Field(description="at the current drain rate")


class Vessel(_Model):
    vessel_id: str
    lat: float | None
    lon: float | None
    status_time: str | None
    containers_total: int | None
    containers_ok: int | None
    containers_alarm: int | None
    containers_silent: int | None
    reefer_power_kw: float | None
    open_alerts: int | None
    link: LinkHealth


class VesselLink(_Model):
    vessel_id: str
    link: LinkHealth


class Container(_Model):
    container_id: str
    vessel_id: str
    cargo: str
    state: str
    window_end: str
    setpoint_c: float | None
    supply_mean_c: float | None
    return_mean_c: float | None
    mean_power_kw: float | None


class Window(_Model):
    seq: int
    window_start: str
    window_end: str
    readings: int
    first_seq: int = Field(description="the first reading in the window")
    last_seq: int = Field(description="the last reading in the window")
    setpoint_c: float | None
    supply_min_c: float | None
    supply_max_c: float | None
    supply_mean_c: float | None
    return_mean_c: float | None
    mean_power_kw: float | None
    seconds_out_of_range: int | None
    seconds_power_off: int | None


class Alert(_Model):
    alert_id: str
    vessel_id: str
    container_id: str | None
    bay: int | None
    kind: str
    severity: str
    state: str
    raised_at: str
    cleared_at: str | None
    summary: str


class Kpis(_Model):
    seq: int = Field(description="changes applied so far (0: none yet)")
    kpis: dict[str, Any] = Field(description="the fleet KPIs record (see docs/shore.md)")


class ContainerGaps(_Model):
    container_id: str
    vessel_id: str
    missing: int
    gaps: list[tuple[int, int]]


class Completeness(_Model):
    containers: int
    readings: int
    windows: int
    containers_with_gaps: int
    missing: int
    gaps: list[ContainerGaps]


class ReplayStatus(_Model):
    generation: int | None
    running: bool
    last: dict[str, Any] | None = Field(description="the last rebuild's result or error")


class ServiceStatus(_Model):
    name: str
    kind: str
    vessel: str | None
    pid: int | None
    phase: str
    restarts: int


class NodeStatus(_Model):
    cluster: str
    node: int
    alive: bool
    restarts: int


class FleetProcesses(_Model):
    supervised: bool = Field(description="false when no supervisor snapshot is fresh")
    services: list[ServiceStatus]
    nodes: list[NodeStatus]


class VesselRequest(_Model):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vessel: str = Field(pattern=rf"^{topics.VESSEL_ID}$", examples=["vessel-1", "mv-anna"])


class BrokerRequest(VesselRequest):
    node: int = Field(ge=1, le=9)


class ServiceRequest(_Model):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,80}$", examples=["edge-vessel-1"])


class BackfillRequest(_Model):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vessel: str | None = Field(default=None, pattern=rf"^{topics.VESSEL_ID}$")


class Accepted(_Model):
    done: str = Field(description="what was done")


class CommandBody(_Model):
    """A command for one reefer. ``setpoint_c`` goes with ``set_setpoint`` only."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vessel: str = Field(pattern=rf"^{topics.VESSEL_ID}$")
    container_id: str = Field(min_length=1, max_length=32)
    action: Literal["set_setpoint", "defrost", "pre_trip_inspection"]
    setpoint_c: float | None = Field(default=None, allow_inf_nan=False)
    ttl_s: int = Field(default=6 * 3600, ge=10, le=7 * 24 * 3600, description="until expiry")


class CommandStep(_Model):
    step: Literal["requested", "delivered", "applied", "rejected", "expired"]
    at: str
    reason: str | None


class CommandView(_Model):
    command_id: str
    vessel_id: str
    container_id: str | None
    action: str
    params: dict[str, Any]
    issued_by: str
    requested_at: str
    expires_at: str
    status: Literal["requested", "delivered", "applied", "rejected", "expired"] = Field(
        description="the highest step; expired too for a request past its expiry, undelivered"
    )
    steps: list[CommandStep] = Field(description="each step reached, with its time, in order")
