"""A seeded fleet run for the shore tests, and an oracle computed by brute force from its readings.

Each vessel's simulator feeds the real edge logic; the edge's outputs are what MirrorMaker 2
would land ashore as ``<vessel>.<topic>``. The oracle reads only the raw readings and the
alert events and recomputes the fleet KPIs its own way (grouping readings into 15-minute
periods), sharing no code with the analytics.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.devices.cargo import PROFILES
from fleetedge.edge.logic import EdgeLogic, Output
from fleetedge.edge.store import DictStore
from fleetedge.events import JSON, Alert, ReadingValidator, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.runtime.health import create_topic

T0 = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW_S = 15 * 60
GRACE_S = 5 * 60
BUSY = FaultRates(
    power_loss=6,
    door_open=8,
    compressor_degradation=0.5,
    sensor_drift=0.5,
    sensor_stuck=0.5,
    bay_power_loss=2,
    vessel_power_loss=0.5,
    wrong_setpoint_fraction=0.05,
)


@dataclass
class VesselRun:
    vessel: str
    readings: list[ReeferReading] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)

    def of(self, topic: str) -> list[Output]:
        return [o for o in self.outputs if o.topic == topic]


def simulate(vessel: str, containers: int, minutes: int, seed: int) -> VesselRun:
    sim = VesselSimulator(vessel, containers, seed=seed, start=T0, rates=BUSY)
    validator = ReadingValidator(vessel, sim.container_ids, max_future=timedelta(days=36500))
    logic, store = EdgeLogic(vessel, validator), DictStore()
    run = VesselRun(vessel)
    offset = 0
    for _ in range(minutes):
        for reading in sim.next_readings():
            run.readings.append(reading)
            run.outputs += logic.handle(store, JSON.encode(reading), 0, offset)
            offset += 1
    return run


def mirror(bootstrap: str, runs: list[VesselRun], *, rf: int = 1) -> int:
    """Write each vessel's edge outputs to the shore as MirrorMaker 2 names them."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    count = 0
    for run in runs:
        for spec in (t.AGGREGATES, t.ALERTS, t.STATUS):
            create_topic(
                bootstrap, t.on_shore(run.vessel, spec), partitions=1, replication_factor=rf
            )
        for o in run.outputs:
            if o.topic in (t.AGGREGATES.name, t.ALERTS.name, t.STATUS.name):
                producer.produce(f"{run.vessel}.{o.topic}", key=o.key, value=o.value)
                producer.poll(0)
                count += 1
    assert producer.flush(60) == 0
    return count


def _state(readings: list[ReeferReading]) -> str:
    if any(not r.power_on for r in readings):
        return "power_off"
    if any(_out_of_range(r) for r in readings):
        return "excursion"
    if any(r.door_open for r in readings):
        return "door_open"
    return "ok"


def _out_of_range(r: ReeferReading) -> bool:
    return not r.defrost and abs(r.return_air_c - r.setpoint_c) > PROFILES[r.cargo].tolerance_c


def oracle(runs: list[VesselRun], link_states: dict[str, str]) -> dict[str, Any]:
    """The fleet KPIs, by brute force over every raw reading and alert event."""
    by_state: Counter[str] = Counter()
    by_cargo: Counter[str] = Counter()
    excursion_min: Counter[str] = Counter()
    power: dict[str, float] = {}
    open_alerts: dict[str, dict[str, int]] = defaultdict(dict)
    containers = 0
    for run in runs:
        watermark = max(int(r.event_time.timestamp()) for r in run.readings)
        periods: dict[str, dict[int, list[ReeferReading]]] = defaultdict(lambda: defaultdict(list))
        for r in run.readings:
            period = int(r.event_time.timestamp()) // WINDOW_S * WINDOW_S
            if period + WINDOW_S + GRACE_S <= watermark:  # closed, so sent ashore
                periods[r.container_id][period].append(r)
        vessel_ckw = 0
        for by_period in periods.values():
            containers += 1
            latest = by_period[max(by_period)]
            by_state[_state(latest)] += 1
            by_cargo[latest[0].cargo.value] += 1
            vessel_ckw += round(sum(r.power_kw for r in latest) / len(latest) * 100)
            for readings in by_period.values():
                excursion_min[readings[0].cargo.value] += sum(map(_out_of_range, readings))
        power[run.vessel] = vessel_ckw / 100
        latest_alert: dict[str, Alert] = {}
        for o in run.of(t.ALERTS.name):
            alert = decode(o.value)
            assert isinstance(alert, Alert)
            known = latest_alert.get(str(alert.alert_id))
            if known is None or alert.seq > known.seq:
                latest_alert[str(alert.alert_id)] = alert
        for alert in latest_alert.values():
            if alert.state.value == "raised":
                kind = open_alerts[alert.alert_kind.value]
                kind[alert.severity.value] = kind.get(alert.severity.value, 0) + 1
    return {
        "vessels": len(runs),
        "containers": containers,
        "containers_by_state": dict(sorted(by_state.items())),
        "containers_by_cargo": dict(sorted(by_cargo.items())),
        "open_alerts": {k: dict(sorted(v.items())) for k, v in sorted(open_alerts.items())},
        "reefer_power_kw_by_vessel": dict(sorted(power.items())),
        "excursion_minutes_by_cargo": {c: float(m) for c, m in sorted(excursion_min.items()) if m},
        "vessels_by_link_state": dict(sorted(Counter(link_states.values()).items())),
    }
