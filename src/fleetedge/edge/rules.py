"""Correlation rules: readings in, de-duplicated alerts out (raised once, cleared once).

One :class:`AlertEngine` per vessel sees that vessel's readings in their Kafka order and keeps
its state in a :class:`Store`. Every decision uses event time, never the wall clock, and every
id is derived from its inputs, so a replay of the same readings yields the same alerts.

Rules, per container unless said otherwise:

- temperature excursion: return air outside the cargo's band for ``excursion_dwell``, not
  counting a defrost or the ``defrost_allowance`` after it (a defrost spike is no excursion),
  nor a pull-down: after the setpoint changes, until the return air first comes within the
  band of the new setpoint, or for at most ``pulldown_limit`` (a unit that cannot get there
  in that time is in trouble);
- setpoint mismatch: a setpoint outside the cargo's range;
- door open (the vessel is at sea); compressor failure (state ``failed`` or alarm 20);
- sensor fault: supply air warmer than return air by ``sensor_gap_c`` while the compressor
  cools (physically impossible), or a supply probe repeating one value for ``stuck_readings``
  readings (at 0.01 °C resolution a live probe's noise never does);
- power loss: held back for ``incident_window``; if by then ``bay_incident_min`` containers of
  one bay lost power within that window, they become one bay power incident, and if half the
  vessel's reefers did, one vessel power incident, instead of N alerts;
- silent: no reading for ``silent_intervals`` reading intervals of vessel time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetedge.devices.cargo import PROFILES
from fleetedge.edge import keys
from fleetedge.edge.store import Store
from fleetedge.edge.windows import out_of_range
from fleetedge.events.alerts import Alert, AlertKind, AlertState, Severity
from fleetedge.events.telemetry import Compressor, ReeferReading

ALARM_COMPRESSOR = 20
SEVERITY = {
    AlertKind.TEMPERATURE_EXCURSION: Severity.CRITICAL,
    AlertKind.POWER_LOSS: Severity.WARNING,
    AlertKind.BAY_POWER_INCIDENT: Severity.CRITICAL,
    AlertKind.VESSEL_POWER_INCIDENT: Severity.CRITICAL,
    AlertKind.SETPOINT_MISMATCH: Severity.CRITICAL,
    AlertKind.DOOR_OPEN: Severity.WARNING,
    AlertKind.COMPRESSOR_FAILURE: Severity.CRITICAL,
    AlertKind.SENSOR_FAULT: Severity.WARNING,
    AlertKind.SILENT: Severity.WARNING,
}


@dataclass(frozen=True)
class RuleConfig:
    excursion_dwell: timedelta = timedelta(minutes=30)
    defrost_allowance: timedelta = timedelta(minutes=30)
    pulldown_limit: timedelta = timedelta(hours=6)
    incident_window: timedelta = timedelta(minutes=5)
    bay_incident_min: int = 3
    vessel_incident_fraction: float = 0.5
    sensor_gap_c: float = 3.0
    stuck_readings: int = 15
    reading_interval: timedelta = timedelta(minutes=1)
    silent_intervals: int = 5


@dataclass(frozen=True)
class Change:
    """An alert raised or cleared, before it is numbered."""

    kind: AlertKind
    state: AlertState
    raised: int
    cleared: int | None = None
    container: str | None = None
    bay: int | None = None
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    summary: str | None = None


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _evidence(kind: AlertKind, r: ReeferReading) -> dict[str, float | int | str]:
    """What a change of a per-reading condition reports of the reading."""
    if kind is AlertKind.TEMPERATURE_EXCURSION:
        return {
            "return_air_c": r.return_air_c,
            "setpoint_c": r.setpoint_c,
            "tolerance_c": PROFILES[r.cargo].tolerance_c,
        }
    if kind is AlertKind.SETPOINT_MISMATCH:
        return {"setpoint_c": r.setpoint_c, "cargo": r.cargo.value}
    if kind is AlertKind.COMPRESSOR_FAILURE:
        return {"compressor": r.compressor.value}
    if kind is AlertKind.SENSOR_FAULT:
        return {"supply_air_c": r.supply_air_c, "return_air_c": r.return_air_c}
    return {}  # the door


# The per-reading conditions, in the order their changes are emitted; their names as the state
# keeps them (an enum's ``.value`` is a descriptor call, and this runs per reading).
_EXCURSION = AlertKind.TEMPERATURE_EXCURSION.value
_SILENT = AlertKind.SILENT.value
_CONDITIONS = (
    AlertKind.TEMPERATURE_EXCURSION,
    AlertKind.SETPOINT_MISMATCH,
    AlertKind.DOOR_OPEN,
    AlertKind.COMPRESSOR_FAILURE,
    AlertKind.SENSOR_FAULT,
)
_CONDITION_NAMES = tuple(kind.value for kind in _CONDITIONS)
_MS = timedelta(milliseconds=1)


class AlertEngine:
    """The rules of one vessel. ``process`` returns the alert events a reading causes."""

    def __init__(self, vessel_id: str, config: RuleConfig | None = None) -> None:
        self.vessel_id = vessel_id
        self.config = config or RuleConfig()
        cfg = self.config
        self._allowance_ms = cfg.defrost_allowance / _MS
        self._dwell_ms = cfg.excursion_dwell / _MS
        self._pulldown_ms = cfg.pulldown_limit / _MS
        self._step_ms = int(cfg.reading_interval / _MS)

    # -- entry point --------------------------------------------------------------------------

    def process(self, reading: ReeferReading, store: Store, now: int | None = None) -> list[Alert]:
        """The alerts ``reading`` raises or clears; ``now`` is its event time in ms, if the
        caller has it already."""
        out: list[Alert] = []
        if now is None:
            now = _ms(reading.event_time)
        watermark = max(store.get(keys.WATERMARK, 0), now)
        store.set(keys.WATERMARK, watermark)
        key = keys.rules(reading.container_id)
        state: dict[str, Any] = store.get(key) or {"open": {}, "seen": 0}
        if not state["seen"]:
            store.set(
                keys.CONTAINER_IDS, [*store.get(keys.CONTAINER_IDS, []), reading.container_id]
            )
        state["seen"] = max(state["seen"], now)
        state["bay"] = reading.bay
        if _SILENT in state["open"]:  # it speaks again
            self._transition(
                store,
                state,
                AlertKind.SILENT,
                container=reading.container_id,
                active=False,
                now=now,
                evidence={},
                out=out,
            )

        opened = state["open"]
        actives = self._container_conditions(reading, state, now)
        for kind, name, active in zip(_CONDITIONS, _CONDITION_NAMES, actives, strict=True):
            if active == (name in opened):
                continue  # no change: the common case, decided without the evidence
            self._transition(
                store,
                state,
                kind,
                container=reading.container_id,
                active=active,
                now=now,
                evidence=_evidence(kind, reading),
                out=out,
            )
        self._power(store, state, reading, now, out)
        store.set(key, state)
        self._periodic(store, watermark, out)
        return out

    # -- container conditions -----------------------------------------------------------------

    def _container_conditions(
        self, r: ReeferReading, state: dict[str, Any], now: int
    ) -> tuple[bool, bool, bool, bool, bool]:
        """Whether each of :data:`_CONDITIONS` holds for ``r``, in that order; updates the
        container's dwell, defrost, pull-down and stuck-probe clocks."""
        profile = PROFILES[r.cargo]
        if r.defrost:
            state["defrost_end"] = now
        allowance = now - state.get("defrost_end", -(10**15)) <= self._allowance_ms
        pulling_down = self._pulling_down(r, state, now)
        if allowance or pulling_down:
            # A defrost and the time after it, or a pull-down to a new setpoint, say nothing
            # either way: an open excursion stays open, and none starts.
            excursion = _EXCURSION in state["open"]
        elif out_of_range(r):
            state.setdefault("excursion_since", now)
            excursion = now - state["excursion_since"] >= self._dwell_ms
        else:
            state.pop("excursion_since", None)
            excursion = False

        repeats = state.get("stuck", [None, 0])
        repeats = [r.supply_air_c, repeats[1] + 1 if repeats[0] == r.supply_air_c else 1]
        state["stuck"] = repeats
        frozen_probe = repeats[1] >= self.config.stuck_readings
        impossible = (
            r.compressor is Compressor.RUNNING
            and r.supply_air_c > r.return_air_c + self.config.sensor_gap_c
        )
        return (
            excursion,
            not profile.setpoint_ok(r.setpoint_c),
            r.door_open,
            r.compressor is Compressor.FAILED or ALARM_COMPRESSOR in r.alarm_codes,
            impossible or frozen_probe,
        )

    def _pulling_down(self, r: ReeferReading, state: dict[str, Any], now: int) -> bool:
        """Whether the box is still on its way to a setpoint changed since the last reading."""
        previous = state.get("setpoint")
        state["setpoint"] = r.setpoint_c
        if previous is not None and previous != r.setpoint_c:
            state["pulldown_since"] = now
            state.pop("excursion_since", None)
        since = state.get("pulldown_since")
        if since is None:
            return False
        if not out_of_range(r) or now - since > self._pulldown_ms:
            del state["pulldown_since"]
            return False
        return True

    def _transition(
        self,
        store: Store,
        state: dict[str, Any],
        kind: AlertKind,
        *,
        container: str | None,
        active: bool,
        now: int,
        evidence: dict[str, float | int | str],
        out: list[Alert],
    ) -> None:
        """Raise ``kind`` when it becomes active, clear it when it stops; otherwise nothing."""
        opened = state["open"].get(kind.value)
        bay = state.get("bay")
        if active and opened is None:
            state["open"][kind.value] = now
            change = Change(kind, AlertState.RAISED, now, None, container, bay, evidence)
            out.append(self._emit(store, change))
        elif not active and opened is not None:
            del state["open"][kind.value]
            change = Change(kind, AlertState.CLEARED, opened, now, container, bay, evidence)
            out.append(self._emit(store, change))

    # -- power and its correlation ------------------------------------------------------------

    def _power(
        self, store: Store, state: dict[str, Any], r: ReeferReading, now: int, out: list[Alert]
    ) -> None:
        pending: dict[str, list[int]] = store.get(keys.POWER_PENDING, {})
        if not r.power_on:
            if r.container_id not in pending and "power" not in state:
                pending[r.container_id] = [now, r.bay]
                store.set(keys.POWER_PENDING, pending)
            return
        if r.container_id in pending:  # back before anyone was told: a blip
            del pending[r.container_id]
            store.set(keys.POWER_PENDING, pending)
        where = state.pop("power", None)
        if where is None:
            return
        if where == "self":
            self._transition(
                store,
                state,
                AlertKind.POWER_LOSS,
                container=r.container_id,
                active=False,
                now=now,
                evidence={},
                out=out,
            )
            return
        incident = store.get(where)
        incident["down"] = [c for c in incident["down"] if c != r.container_id]
        if incident["down"]:
            store.set(where, incident)
            return
        store.delete(where)
        kind = AlertKind(incident["kind"])
        bay = incident.get("bay")
        change = Change(
            kind,
            AlertState.CLEARED,
            incident["raised"],
            now,
            None,
            bay,
            {"containers": incident["count"]},
        )
        out.append(self._emit(store, change))

    def _periodic(self, store: Store, watermark: int, out: list[Alert]) -> None:
        """Once per reading interval of vessel time: settle held-back power losses, find the
        silent."""
        step = self._step_ms
        if watermark // step == store.get(keys.LAST_SWEEP, -1):
            return
        store.set(keys.LAST_SWEEP, watermark // step)
        self._settle_power(store, watermark, out)
        self._silence(store, watermark, out)

    def _settle_power(self, store: Store, watermark: int, out: list[Alert]) -> None:
        hold = int(self.config.incident_window / timedelta(milliseconds=1))
        while True:
            pending: dict[str, list[int]] = store.get(keys.POWER_PENDING, {})
            due = {c: v for c, v in pending.items() if watermark - v[0] >= hold}
            if not due:
                return
            self._settle_batch(store, pending, due, hold, out)

    def _settle_batch(
        self,
        store: Store,
        pending: dict[str, list[int]],
        due: dict[str, list[int]],
        hold: int,
        out: list[Alert],
    ) -> None:
        # The batch: everything that went dark within a window of the oldest due loss.
        oldest = min(v[0] for v in due.values())
        batch = {c: v for c, v in pending.items() if v[0] - oldest <= hold}
        for c in batch:
            del pending[c]
        store.set(keys.POWER_PENDING, pending)
        total = len(store.get(keys.CONTAINER_IDS, [])) or 1
        if len(batch) >= max(2, self.config.vessel_incident_fraction * total):
            self._incident(
                store,
                AlertKind.VESSEL_POWER_INCIDENT,
                bay=None,
                members=sorted(batch),
                since=oldest,
                out=out,
            )
            return
        bays: dict[int, list[str]] = {}
        for container, (_, bay) in batch.items():
            bays.setdefault(bay, []).append(container)
        for bay, members in sorted(bays.items()):
            if len(members) >= self.config.bay_incident_min:
                self._incident(
                    store,
                    AlertKind.BAY_POWER_INCIDENT,
                    bay=bay,
                    members=sorted(members),
                    since=oldest,
                    out=out,
                )
                continue
            for container in sorted(members):
                since = batch[container][0]
                cstate = store.get(keys.rules(container))
                cstate["power"] = "self"
                cstate["open"][AlertKind.POWER_LOSS.value] = since
                store.set(keys.rules(container), cstate)
                evidence: dict[str, float | int | str] = {"since": _time(since).isoformat()}
                change = Change(
                    AlertKind.POWER_LOSS, AlertState.RAISED, since, None, container, bay, evidence
                )
                out.append(self._emit(store, change))

    def _incident(
        self,
        store: Store,
        kind: AlertKind,
        *,
        bay: int | None,
        members: list[str],
        since: int,
        out: list[Alert],
    ) -> None:
        key = keys.incident(kind.value, bay, since)
        store.set(
            key,
            {
                "kind": kind.value,
                "bay": bay,
                "down": members,
                "raised": since,
                "count": len(members),
            },
        )
        for container in members:
            cstate = store.get(keys.rules(container))
            cstate["power"] = key
            store.set(keys.rules(container), cstate)
        where = f"bay {bay}" if bay is not None else "the vessel"
        change = Change(
            kind,
            AlertState.RAISED,
            since,
            bay=bay,
            evidence={"containers": len(members), "first": members[0]},
            summary=f"{len(members)} reefers in {where} lost power",
        )
        out.append(self._emit(store, change))

    def _silence(self, store: Store, watermark: int, out: list[Alert]) -> None:
        """Raise SILENT for containers quiet too long (cleared in ``process`` when they speak)."""
        limit = self.config.silent_intervals * int(
            self.config.reading_interval / timedelta(milliseconds=1)
        )
        for container in store.get(keys.CONTAINER_IDS, []):
            cstate = store.get(keys.rules(container))
            if watermark - cstate["seen"] > limit and AlertKind.SILENT.value not in cstate["open"]:
                evidence: dict[str, float | int | str] = {
                    "last_seen": _time(cstate["seen"]).isoformat()
                }
                self._transition(
                    store,
                    cstate,
                    AlertKind.SILENT,
                    container=container,
                    active=True,
                    now=cstate["seen"] + limit,
                    evidence=evidence,
                    out=out,
                )
                store.set(keys.rules(container), cstate)

    # -- events -------------------------------------------------------------------------------

    def _emit(self, store: Store, change: Change) -> Alert:
        """The alert event of ``change``, numbered in the vessel's alert sequence."""
        seq = store.get(keys.ALERT_SEQ, 0) + 1
        store.set(keys.ALERT_SEQ, seq)
        bay, container, kind = change.bay, change.container, change.kind
        subject = container or (f"bay {bay}" if bay is not None else self.vessel_id)
        alert_id = uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"fleetedge:alert:{self.vessel_id}:{subject}:{kind.value}:{change.raised}",
        )
        cleared = change.cleared
        return Alert(
            event_id=uuid.uuid5(alert_id, change.state.value),
            vessel_id=self.vessel_id,
            event_time=_time(cleared if cleared is not None else change.raised),
            seq=seq,
            alert_id=alert_id,
            alert_kind=kind,
            severity=SEVERITY[kind],
            state=change.state,
            container_id=container,
            bay=bay,
            raised_at=_time(change.raised),
            cleared_at=_time(cleared) if cleared is not None else None,
            summary=change.summary or f"{kind.value.replace('_', ' ')} on {subject}",
            evidence=dict(change.evidence),
        )
