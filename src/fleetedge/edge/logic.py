"""What the edge does with one telemetry record, apart from Kafka plumbing.

For each record, in the partition's order:

1. decode and validate it; a bad one becomes a dead letter (reason in headers), nothing else;
2. admit it (``_admit``): a reading more than ``max_ahead`` past the newest event time is a
   broken clock, a (container, seq) already counted is a duplicate, a reading whose window
   closed (window end + grace before the watermark) is late; each is a :class:`Refused` kind,
   whose class names the dead letter's error; kept, counted nowhere;
4. otherwise it joins its window and, if newer than the container's last reading, feeds the
   alert rules;
5. when the watermark (the newest event time seen) crosses a minute, windows past their grace
   are emitted and dropped, and the vessel status is emitted every ``status_interval``.

Everything depends only on the records and their order, so a replay gives the same output.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fleetedge.edge import keys
from fleetedge.edge.exceptions import Duplicate, ImplausibleEvent, Late, Refused
from fleetedge.edge.rules import AlertEngine, RuleConfig
from fleetedge.edge.store import Store
from fleetedge.edge.windows import WindowConfig, add, finish, start
from fleetedge.events import (
    BINARY,
    JSON,
    DeadLetter,
    EventError,
    ReadingValidator,
    ReeferReading,
    VesselStatus,
    compact,
)
from fleetedge.events.alerts import AlertKind

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class EdgeTopics:
    telemetry: str = "reefer.telemetry"
    aggregates: str = "reefer.aggregates"
    alerts: str = "reefer.alerts"
    status: str = "vessel.status"
    dead_letters: str = "reefer.telemetry.dlq"
    changelog: str = "edge.state.changelog"


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes
    value: bytes
    headers: Headers = field(default_factory=list)


@dataclass
class Counters:
    processed: int = 0
    dead_letters: int = 0
    late: int = 0
    duplicates: int = 0


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class EdgeLogic:
    """The edge of one vessel over a Store (the service's changelog-backed state)."""

    def __init__(
        self,
        vessel_id: str,
        validator: ReadingValidator,
        *,
        topics: EdgeTopics | None = None,
        window: WindowConfig | None = None,
        rules: RuleConfig | None = None,
        status_interval: timedelta = timedelta(minutes=1),
        max_ahead: timedelta = timedelta(days=1),
    ) -> None:
        self.vessel_id = vessel_id
        self.validator = validator
        self.topics = topics or EdgeTopics()
        self.window = window or WindowConfig()
        self.engine = AlertEngine(
            vessel_id, rules or RuleConfig(reading_interval=self.window.reading_interval)
        )
        self.status_interval = status_interval
        self.max_ahead_ms = int(max_ahead / timedelta(milliseconds=1))
        self.counters = Counters()
        self.open_alerts = 0

    def handle(self, store: Store, value: bytes, partition: int, offset: int) -> list[Output]:
        """The outputs of one record: its dead letter, or its alerts and the windows and status
        its event time closes."""
        key = b""
        try:
            reading = self.validator.parse(value)
            self.counters.processed += 1
            key = reading.container_id.encode()
            at = _ms(reading.event_time)  # once: every step below needs it, in ms
            wstart, wend = self.window.bounds(reading.event_time)
            wkey = keys.window(reading.container_id, _ms(wstart))
            self._admit(store, reading, at, wkey, (wstart, wend))
        except (EventError, Refused) as exc:
            field_name = exc.field if isinstance(exc, EventError) else type(exc).field
            reason = exc.reason if isinstance(exc, EventError) else exc.message
            return [
                self._dead_letter(
                    store, value, reason, error=type(exc).__name__, field_name=field_name,
                    partition=partition, offset=offset, key=key,
                )
            ]  # fmt: skip
        watermark = store.get(keys.WATERMARK, 0)
        out = self._count(store, reading, at, wkey, wstart)
        new_watermark = max(watermark, at)
        store.set(keys.WATERMARK, new_watermark)
        out.extend(self._advance(store, watermark, new_watermark))
        return out

    def _admit(
        self,
        store: Store,
        reading: ReeferReading,
        at: int,
        wkey: str,
        bounds: tuple[datetime, datetime],
    ) -> None:
        """Raise the :class:`Refused` kind a reading (at ``at`` ms, in the window of
        ``bounds``, whose state is at ``wkey``) falls under, if any."""
        wstart, wend = bounds
        watermark = store.get(keys.WATERMARK, 0)
        if watermark and at > watermark + self.max_ahead_ms:
            # One broken clock must not close every window of the vessel.
            raise ImplausibleEvent(
                f"event_time {reading.event_time.isoformat()} is more than "
                f"{self.max_ahead_ms // 1000}s ahead of the vessel's event time "
                f"{_time(watermark).isoformat()}"
            )
        state = store.get(wkey)
        if state is not None and any(lo <= reading.seq <= hi for lo, hi in state["ranges"]):
            self.counters.duplicates += 1
            raise Duplicate(f"duplicate of {reading.container_id} seq {reading.seq}")
        closes = wend + self.window.grace
        if _ms(closes) <= watermark:
            # Late, or a duplicate of a reading whose window is gone: kept, not counted.
            self.counters.late += 1
            raise Late(
                f"late: window {wstart.isoformat()} of {reading.container_id} closed at "
                f"{closes.isoformat()}"
            )

    def _count(
        self, store: Store, reading: ReeferReading, at: int, wkey: str, wstart: datetime
    ) -> list[Output]:
        """Add an admitted reading to its window and, if it is the container's newest, feed
        the alert rules; the alerts they raise or clear."""
        state = store.get(wkey)
        store.set(
            wkey,
            start(reading, self.window, wstart, at)
            if state is None
            else add(state, reading, self.window, wstart, at),
        )
        if reading.seq <= store.get(keys.last_seq(reading.container_id), 0):
            return []
        store.set(keys.last_seq(reading.container_id), reading.seq)
        store.set(
            keys.last_point(reading.container_id), [reading.power_kw, reading.lat, reading.lon]
        )
        return [
            Output(
                self.topics.alerts,
                (alert.container_id or self.vessel_id).encode(),
                JSON.encode(alert),
            )
            for alert in self.engine.process(reading, store, at)
        ]

    def _advance(self, store: Store, old: int, new: int) -> list[Output]:
        minute = 60_000
        if new // minute == old // minute:
            return []
        out: list[Output] = []
        grace = int(self.window.grace / timedelta(milliseconds=1))
        size = int(self.window.size / timedelta(milliseconds=1))
        closing = []
        for wkey in store.keys(keys.WINDOW_PREFIX):
            container, start_ms = keys.parse_window(wkey)
            if start_ms + size + grace <= new:
                closing.append((start_ms, container, wkey))
        for start_ms, container, wkey in sorted(closing):
            window = finish(
                store.get(wkey),
                vessel_id=self.vessel_id,
                container_id=container,
                window_start=_time(start_ms),
                config=self.window,
            )
            store.delete(wkey)
            # The link's compact layout: the shore decodes it (events.compact, BENCHMARKS N3).
            out.append(Output(self.topics.aggregates, container.encode(), compact.pack(window)))
        step = int(self.status_interval / timedelta(milliseconds=1))
        if new // step != old // step:
            out.append(self._status(store, (new // step) * step))
        return out

    def _status(self, store: Store, at: int) -> Output:
        seq = store.get(keys.STATUS_SEQ, 0) + 1
        store.set(keys.STATUS_SEQ, seq)
        ids: list[str] = store.get(keys.CONTAINER_IDS, [])
        alarm = silent = 0
        power = 0.0
        lat = lon = 0.0
        for container in ids:
            cstate = store.get(keys.rules(container)) or {"open": {}}
            if AlertKind.SILENT.value in cstate["open"]:
                silent += 1
            elif cstate["open"]:
                alarm += 1
            last = store.get(keys.last_point(container))
            if last:
                power += last[0]
                lat, lon = last[1], last[2]
        status = VesselStatus(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:status:{self.vessel_id}:{seq}"),
            vessel_id=self.vessel_id,
            event_time=_time(at),
            seq=seq,
            containers_total=len(ids),
            containers_ok=len(ids) - alarm - silent,
            containers_alarm=alarm,
            containers_silent=silent,
            reefer_power_kw=round(power, 2),
            lat=lat,
            lon=lon,
            open_alerts=self._count_open(store, ids),
            edge_lag_records=0,
            edge_healthy=True,
        )
        # Binary: a status crosses the link alone, once a minute, where zstd has little to work
        # on; 80 bytes against 358 of JSON (BENCHMARKS.md, N3). The shore reads both.
        return Output(self.topics.status, self.vessel_id.encode(), BINARY.encode(status))

    def _count_open(self, store: Store, ids: list[str]) -> int:
        containers = sum(len((store.get(keys.rules(c)) or {"open": {}})["open"]) for c in ids)
        self.open_alerts = containers + len(store.keys(keys.INCIDENT_PREFIX))
        return self.open_alerts

    def _dead_letter(
        self,
        store: Store,
        value: bytes,
        reason: str,
        *,
        error: str,
        field_name: str | None,
        partition: int,
        offset: int,
        key: bytes,
    ) -> Output:
        self.counters.dead_letters += 1
        seq = store.get(keys.DEAD_LETTER_SEQ, 0) + 1
        store.set(keys.DEAD_LETTER_SEQ, seq)
        letter = DeadLetter(
            event_id=uuid.uuid5(
                uuid.NAMESPACE_URL, f"fleetedge:dlq:{self.vessel_id}:{partition}:{offset}"
            ),
            vessel_id=self.vessel_id,
            event_time=_time(store.get(keys.WATERMARK, 0) or 1),
            seq=seq,
            service="edge",
            reason=reason[:1000],
            error=error,
            field=field_name,
            source_topic=self.topics.telemetry,
            source_partition=partition,
            source_offset=offset,
            payload=value,
        )
        headers: Headers = [
            ("reason", reason.encode()),
            ("error", error.encode()),
            ("source", f"{self.topics.telemetry}/{partition}/{offset}".encode()),
        ]
        return Output(self.topics.dead_letters, key, JSON.encode(letter), headers)
