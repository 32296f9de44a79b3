"""A seeded fleet run for the shore tests, and an oracle computed by brute force from its readings.

Each vessel's simulator feeds the real edge logic; the edge's outputs are what MirrorMaker 2
would land ashore as ``<vessel>.<topic>``. The oracle reads only the raw readings and the
alert events and recomputes the fleet KPIs its own way (grouping readings into 15-minute
periods), sharing no code with the analytics.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.devices.cargo import PROFILES
from fleetedge.edge.logic import EdgeLogic, Output
from fleetedge.edge.store import DictStore
from fleetedge.events import (
    JSON,
    Alert,
    LinkReport,
    LinkState,
    ReadingValidator,
    ReeferReading,
    decode,
)
from fleetedge.events import topics as t
from fleetedge.runtime.health import create_topic
from fleetedge.security.clients import kafka_config

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

    def fleet_records(self) -> list[tuple[str, bytes]]:
        """(fleet topic, value) of its windows, alerts and status as the normalizer writes
        them: decoded from what the edge wrote (windows in the link's compact layout), as JSON."""
        target = {
            t.AGGREGATES.name: t.FLEET_WINDOWS.name,
            t.ALERTS.name: t.FLEET_ALERTS.name,
            t.STATUS.name: t.FLEET_STATUS.name,
        }
        return [
            (target[o.topic], JSON.encode(decode(o.value)))
            for o in self.outputs
            if o.topic in target
        ]


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


def mirror(bootstrap: str, runs: list[VesselRun], *, rf: int = 1, per_second: float = 0.0) -> int:
    """Write each vessel's edge outputs to the shore as MirrorMaker 2 names them; at
    ``per_second`` records a second if given (a steady flow), else at once."""
    producer = Producer({**kafka_config(bootstrap), "enable.idempotence": True})
    pace = threading.Event()  # never set: its wait is the pacing
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
                if per_second:
                    pace.wait(1 / per_second)
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


def oracle(runs: list[VesselRun], link_history: dict[str, list[str]]) -> dict[str, Any]:
    """The fleet KPIs, by brute force over every raw reading, alert event and link report.

    ``seq`` counts the events that changed what a container, an alert or a vessel's link adds
    to the fleet's figures; ``link_history`` is each vessel's link states in report order.
    """
    by_state: Counter[str] = Counter()
    by_cargo: Counter[str] = Counter()
    excursion_min: Counter[str] = Counter()
    power: dict[str, float] = {}
    open_alerts: dict[str, dict[str, int]] = defaultdict(dict)
    containers = changes = 0
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
            changes += _container_changes([by_period[p] for p in sorted(by_period)])
            latest = by_period[max(by_period)]
            by_state[_state(latest)] += 1
            by_cargo[latest[0].cargo.value] += 1
            vessel_ckw += _ckw(latest)
            for readings in by_period.values():
                excursion_min[readings[0].cargo.value] += sum(map(_out_of_range, readings))
        power[run.vessel] = vessel_ckw / 100
        history: dict[str, list[Alert]] = defaultdict(list)
        for o in run.of(t.ALERTS.name):
            alert = decode(o.value)
            assert isinstance(alert, Alert)
            history[str(alert.alert_id)].append(alert)
        for events in history.values():
            newest = {a.seq: a for a in events}
            counted = [_open(newest[s]) for s in sorted(newest)]
            changes += _changes(counted)
            if counted[-1] is not None:
                kind, severity = counted[-1]
                open_alerts[kind][severity] = open_alerts[kind].get(severity, 0) + 1
    changes += sum(_changes(list(states)) for states in link_history.values())
    return {
        "seq": changes,
        "vessels": len(runs),
        "containers": containers,
        "containers_by_state": dict(sorted(by_state.items())),
        "containers_by_cargo": dict(sorted(by_cargo.items())),
        "open_alerts": {k: dict(sorted(v.items())) for k, v in sorted(open_alerts.items())},
        "reefer_power_kw_by_vessel": dict(sorted(power.items())),
        "excursion_minutes_by_cargo": {c: float(m) for c, m in sorted(excursion_min.items()) if m},
        "vessels_by_link_state": dict(
            sorted(Counter(states[-1] for states in link_history.values()).items())
        ),
    }


def _ckw(readings: list[ReeferReading]) -> int:
    return round(sum(r.power_kw for r in readings) / len(readings) * 100)


def _container_changes(periods: list[list[ReeferReading]]) -> int:
    """How many of a container's windows, in order, changed its share of the fleet figures:
    its latest state, cargo or power changed, or it added minutes out of range."""
    count, held = 0, None
    for readings in periods:
        latest = (_state(readings), readings[0].cargo.value, _ckw(readings))
        if latest != held or any(map(_out_of_range, readings)):
            count += 1
        held = latest
    return count


def _open(alert: Alert) -> tuple[str, str] | None:
    return (alert.alert_kind.value, alert.severity.value) if alert.state.value == "raised" else None


def _changes(shares: list[Any]) -> int:
    """How many steps of a sequence differ from the step before (the first from nothing)."""
    return sum(1 for before, now in zip([None, *shares], shares, strict=False) if now != before)


def normalized(
    runs: list[VesselRun], link_history: dict[str, list[str]]
) -> list[tuple[str, str, bytes]]:
    """(topic, key, value) of the fleet topics as the normalizer and the link supervisor write
    them: the link reports, then the vessels' windows and alerts interleaved in their order."""
    now = datetime.now(UTC)
    records = [
        (t.FLEET_LINK.name, vessel, JSON.encode(_report(vessel, seq, state, now)))
        for vessel, states in link_history.items()
        for seq, state in enumerate(states, 1)
    ]
    streams = []
    for run in runs:
        stream = []
        for o in run.outputs:
            if o.topic not in (t.AGGREGATES.name, t.ALERTS.name):
                continue
            event = decode(o.value)
            if o.topic == t.AGGREGATES.name:
                key = f"{run.vessel}/{getattr(event, 'container_id', '')}"
                stream.append((t.FLEET_WINDOWS.name, key, JSON.encode(event)))
            else:
                key = f"{run.vessel}/{getattr(event, 'alert_id', '')}"
                stream.append((t.FLEET_ALERTS.name, key, JSON.encode(event)))
        streams.append(stream)
    for i in range(max((len(s) for s in streams), default=0)):
        records += [s[i] for s in streams if i < len(s)]
    return records


def _report(vessel: str, seq: int, state: str, now: datetime) -> LinkReport:
    return LinkReport(
        vessel_id=vessel, event_time=now, seq=seq, state=LinkState(state), backlog_records=0,
        backlog_bytes=0,
    )  # fmt: skip
