"""Synthetic edge outputs (windows and alerts) with the sizes and shape of real ones.

They load the link without running a simulator and an edge processor: each container's
windows are numbered from 1, so the shore can check every one arrived once and in order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fleetedge.events.aggregates import ContainerWindow
from fleetedge.events.alerts import Alert, AlertKind, AlertState, Severity
from fleetedge.events.telemetry import Cargo

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def window(vessel: str, container: str, seq: int) -> ContainerWindow:
    start = T0 + timedelta(minutes=15 * (seq - 1))
    return ContainerWindow(
        vessel_id=vessel,
        event_time=start + timedelta(minutes=15),
        seq=seq,
        container_id=container,
        cargo=Cargo.CHILLED,
        window_start=start,
        window_end=start + timedelta(minutes=15),
        count=15,
        first_seq=15 * (seq - 1) + 1,
        last_seq=15 * seq,
        setpoint_c=2,
        supply_min_c=0.5 + (seq % 7) / 10,
        supply_max_c=1.9,
        supply_mean_c=1.2,
        return_min_c=1.8,
        return_max_c=2.6,
        return_mean_c=2.1,
        mean_power_kw=2.2,
        seconds_out_of_range=0,
        seconds_door_open=0,
        seconds_defrost=0,
        seconds_power_off=0,
        lat=10.5,
        lon=-30.25,
    )


def alert(vessel: str, container: str, seq: int) -> Alert:
    at = T0 + timedelta(minutes=seq)
    return Alert(
        vessel_id=vessel,
        event_time=at,
        seq=seq,
        alert_id=uuid.uuid5(uuid.NAMESPACE_URL, f"test:{container}:{seq}"),
        alert_kind=AlertKind.TEMPERATURE_EXCURSION,
        severity=Severity.CRITICAL,
        state=AlertState.RAISED,
        container_id=container,
        raised_at=at,
        summary=f"{container}: supply air 4.1 C above setpoint",
    )
