"""Self-healing for the MirrorMaker 2 processes of every vessel.

MirrorMaker 2 does not restart a task that FAILED (after a long target outage, say), and
nothing restarts a JVM that died. The supervisor does both, checking every few seconds:

- the process is gone: start it again;
- a connector or task reports FAILED in the flow's Connect status topic ashore (and the report
  is newer than the process): restart the process, which restarts every task of the flow;
- the flow is stalled: records wait aboard, the vessel answers, and the mirrored offsets have
  not moved for ``stall_after`` seconds: restart, backing off up to ``max_backoff``. This
  catches what the status topic cannot say, for instance when the shore itself was down;
- heartbeats are stale while the link answers: restart the downlink, which emits them.

A restart is safe at any point: uplinks are exactly-once, so resumed tasks neither lose nor
repeat records.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from prometheus_client import Counter, Gauge

from fleetedge.link.health import DrainTracker, LinkHealth, QuietLogger, measure
from fleetedge.link.mirror import Flow, MirrorProcess, internal_topic
from fleetedge.link.reports import LinkReporter
from fleetedge.security.clients import kafka_config

log = structlog.get_logger("fleetedge.link.supervisor")

RESTARTS = Counter(
    "fleetedge_link_mm2_restarts_total",
    "MirrorMaker 2 restarts by the supervisor",
    ["vessel", "flow", "reason"],
)
UP = Gauge("fleetedge_link_mm2_up", "1 while the flow's MirrorMaker 2 runs", ["vessel", "flow"])
BACKLOG = Gauge("fleetedge_link_backlog_records", "records aboard not yet mirrored", ["vessel"])
BACKLOG_BYTES = Gauge(
    "fleetedge_link_backlog_bytes", "estimated bytes not yet mirrored", ["vessel"]
)
OLDEST = Gauge(
    "fleetedge_link_oldest_unmirrored_seconds", "age of the oldest record not mirrored", ["vessel"]
)
HEARTBEAT_AGE = Gauge(
    "fleetedge_link_heartbeat_age_seconds", "age of the newest heartbeat ashore", ["vessel"]
)
DRAIN = Gauge("fleetedge_link_drain_rate_records", "records mirrored per second", ["vessel"])
ETA = Gauge("fleetedge_link_time_to_drain_seconds", "estimated seconds to drain", ["vessel"])
LOST = Gauge(
    "fleetedge_link_lost_to_retention_records",
    "records removed aboard by retention before they were mirrored",
    ["vessel"],
)


class StatusWatch:
    """The latest Connect status of a flow's connectors and tasks, from its status topic."""

    def __init__(self, shore_bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.states: dict[str, tuple[str, int, str | None]] = {}
        self._consumer = Consumer(
            {
                **kafka_config(shore_bootstrap),
                "group.id": f"fleetedge-link-status-{topic}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "logger": QuietLogger(),
            }
        )
        self._assigned = False

    def poll(self) -> None:
        if not self._assigned:
            metadata = self._consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                return
            self._consumer.assign(
                [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
            )
            self._assigned = True
        while True:
            message = self._consumer.poll(0.05)
            if message is None:
                return
            if message.error() is not None:
                continue
            key = (message.key() or b"").decode()
            if not key.startswith(("status-connector-", "status-task-")):
                continue
            if message.value() is None:
                self.states.pop(key, None)
                continue
            body = json.loads(message.value())
            trace = body.get("trace")
            self.states[key] = (body["state"], message.timestamp()[1], trace)

    def failed_since(self, since_ms: int) -> list[tuple[str, str | None]]:
        return [
            (key, trace)
            for key, (state, stamp, trace) in self.states.items()
            if state == "FAILED" and stamp >= since_ms
        ]

    def close(self) -> None:
        self._consumer.close()


@dataclass
class _FlowWatch:
    process: MirrorProcess
    status: StatusWatch
    started_ms: int = 0
    restarts: int = 0
    # A process that keeps dying young (the downlink while the link is down cannot even
    # start) is restarted with a growing pause, not in a loop of JVM starts.
    pause: float = 0.0
    not_before: float = 0.0


@dataclass
class VesselLink:
    """What the supervisor watches for one vessel."""

    vessel: str
    vessel_bootstrap: str  # aboard, for the backlog
    link_bootstrap: str  # the vessel as the shore reaches it, through the link
    shore_bootstrap: str
    processes: Sequence[MirrorProcess]
    flows: list[_FlowWatch] = field(default_factory=list)
    drain: DrainTracker = field(default_factory=DrainTracker)
    health: LinkHealth | None = None
    progress_at: float = field(default_factory=time.monotonic)
    last_mirrored: int = -1
    backoff: float = 0.0
    beats_at: float = field(default_factory=time.monotonic)
    beat_backoff: float = 0.0


class LinkSupervisor:
    """Keeps every flow of every vessel running; measures link health on the way."""

    def __init__(
        self,
        links: Sequence[VesselLink],
        *,
        stall_after: float = 90.0,
        max_backoff: float = 600.0,
        health_every: float = 5.0,
        reporter: LinkReporter | None = None,
        heartbeat_stale_after: float = 30.0,
        heartbeat_restart_after: float = 45.0,
    ) -> None:
        self.links = list(links)
        self.heartbeat_stale_after = heartbeat_stale_after
        self.heartbeat_restart_after = heartbeat_restart_after
        self.reporter = reporter
        self.stall_after = stall_after
        self.max_backoff = max_backoff
        self.health_every = health_every
        self._health_at = 0.0
        self.events: list[tuple[str, str, str]] = []  # (vessel, flow, reason) of each restart
        for link in self.links:
            link.flows = [
                _FlowWatch(
                    p, StatusWatch(_target(link, p.flow), _status_topic(link.vessel, p.flow))
                )
                for p in link.processes
            ]

    def start(self) -> None:
        for link in self.links:
            for watch in link.flows:
                if not watch.process.alive():
                    self._start(link, watch)
                else:
                    watch.started_ms = int(time.time() * 1000)
                UP.labels(link.vessel, watch.process.flow.name).set(1)

    def step(self) -> None:
        """One round of checks (call every second or two)."""
        now = time.monotonic()
        measure_now = now - self._health_at >= self.health_every
        if measure_now:
            self._health_at = now
        for link in self.links:
            for watch in link.flows:
                self._check(link, watch)
            if measure_now:
                self._measure(link)

    def run(self, stop: threading.Event, interval: float = 2.0) -> None:
        self.start()
        while not stop.wait(interval):
            self.step()

    def close(self, stop_processes: bool = True) -> None:
        if self.reporter is not None:
            self.reporter.close()
        for link in self.links:
            for watch in link.flows:
                watch.status.close()
                if stop_processes:
                    watch.process.stop()
                    UP.labels(link.vessel, watch.process.flow.name).set(0)

    def restarts(self, vessel: str) -> int:
        return sum(w.restarts for link in self.links if link.vessel == vessel for w in link.flows)

    # -- checks ---------------------------------------------------------------------------------

    def _check(self, link: VesselLink, watch: _FlowWatch) -> None:
        flow = watch.process.flow.name
        if time.monotonic() < watch.not_before:
            return
        if not watch.process.alive():
            log.warning("mirrormaker gone, restarting", vessel=link.vessel, flow=flow)
            self._restart(link, watch, "exited")
            return
        try:
            watch.status.poll()
        except KafkaException:
            return  # the shore is away; the stall check covers it
        failed = watch.status.failed_since(watch.started_ms)
        if failed:
            key, trace = failed[0]
            first = (trace or "").strip().splitlines()[:1]
            log.warning("mirrormaker task failed, restarting", vessel=link.vessel, flow=flow,
                        what=key, cause=first[0] if first else None)  # fmt: skip
            self._restart(link, watch, "task-failed")

    def _measure(self, link: VesselLink) -> None:
        flows = [w.process.flow for w in link.flows if w.process.flow.uplink]
        try:
            health = link.drain.update(
                measure(link.vessel, link.vessel_bootstrap, link.shore_bootstrap, flows)
            )
        except KafkaException as exc:
            # The shore is away: no stall can be judged, and the clock starts again after.
            link.progress_at = time.monotonic()
            log.info("link health not measurable now", vessel=link.vessel, error=str(exc))
            return
        link.health = health
        _export(health)
        # Through the link, as the shore sees the vessel: a cut shows at once, not only when
        # heartbeats grow old.
        answers = _answers(link.link_bootstrap)
        if self.reporter is not None:
            self.reporter.report(health, link_answers=answers)
        now = time.monotonic()
        self._check_uplinks(link, health, now, answers)
        self._check_heartbeats(link, health, now, answers)

    def _check_uplinks(
        self, link: VesselLink, health: LinkHealth, now: float, answers: bool
    ) -> None:
        """Restart the uplinks if records wait, the link answers and nothing moves."""
        mirrored = sum(p.next_to_mirror for p in health.partitions)
        if mirrored != link.last_mirrored or health.backlog_records == 0:
            link.last_mirrored = mirrored
            link.progress_at = now
            link.backoff = 0.0
            return
        if not answers:
            link.progress_at = now  # the link is down: waiting is right, and no stall
            return
        waited = now - link.progress_at
        if waited < self.stall_after + link.backoff:
            return
        log.warning("link stalled, restarting its uplinks", vessel=link.vessel,
                    backlog=health.backlog_records, stalled_s=round(waited))  # fmt: skip
        for watch in link.flows:
            if watch.process.flow.uplink:
                self._restart(link, watch, "stalled")
        link.progress_at = now
        link.backoff = min(self.max_backoff, max(self.stall_after, 2 * link.backoff))

    def _check_heartbeats(
        self, link: VesselLink, health: LinkHealth, now: float, answers: bool
    ) -> None:
        """Restart the downlink if heartbeats stay stale while the link answers.

        The downlink emits the heartbeats aboard; when its worker does not recover from a cut
        (its Connect coordinator is aboard), nothing waits aboard, so the backlog rule above
        cannot see it: stale heartbeats can.
        """
        beat = health.last_heartbeat_age_s
        if beat is not None and beat < self.heartbeat_stale_after:
            link.beats_at = now
            link.beat_backoff = 0.0
            return
        if not answers:
            link.beats_at = now
            return
        if now - link.beats_at < self.heartbeat_restart_after + link.beat_backoff:
            return
        log.warning("heartbeats stale while the link answers, restarting the downlink",
                    vessel=link.vessel, heartbeat_age_s=beat)  # fmt: skip
        for watch in link.flows:
            if not watch.process.flow.uplink:
                self._restart(link, watch, "heartbeats-stale")
        link.beats_at = now
        link.beat_backoff = min(
            self.max_backoff, max(self.heartbeat_restart_after, 2 * link.beat_backoff)
        )

    def _restart(self, link: VesselLink, watch: _FlowWatch, reason: str) -> None:
        lived = time.time() - watch.started_ms / 1000
        watch.pause = min(300.0, max(5.0, 2 * watch.pause)) if lived < 120 else 0.0
        watch.not_before = time.monotonic() + watch.pause
        watch.process.kill()
        self._start(link, watch)
        watch.restarts += 1
        self.events.append((link.vessel, watch.process.flow.name, reason))
        RESTARTS.labels(link.vessel, watch.process.flow.name, reason).inc()
        log.info("restart paced", vessel=link.vessel, flow=watch.process.flow.name,
                 lived_s=round(lived), next_check_in_s=watch.pause)  # fmt: skip

    def _start(self, link: VesselLink, watch: _FlowWatch) -> None:
        watch.started_ms = int(time.time() * 1000)
        watch.process.start()
        log.info("mirrormaker started", vessel=link.vessel, flow=watch.process.flow.name,
                 pid=watch.process.pids())  # fmt: skip


def _answers(bootstrap: str) -> bool:
    """True if the cluster answers a metadata request through ``bootstrap``: the link is up.

    A link that is down is no stall: waiting is what MirrorMaker 2 should do then.
    """
    consumer = Consumer({**kafka_config(bootstrap), "group.id": "fleetedge-link-probe",
                         "logger": QuietLogger()})  # fmt: skip
    try:
        consumer.list_topics(timeout=3)
    except KafkaException:
        return False
    finally:
        consumer.close()
    return True


def _target(link: VesselLink, flow: Flow) -> str:
    """Where the flow keeps its Connect status: ashore for uplinks, aboard for the downlink."""
    return link.shore_bootstrap if flow.uplink else link.link_bootstrap


def _status_topic(vessel: str, flow: Flow) -> str:
    return internal_topic(vessel, flow, "status")


def _export(health: LinkHealth) -> None:
    v = health.vessel
    BACKLOG.labels(v).set(health.backlog_records)
    BACKLOG_BYTES.labels(v).set(health.backlog_bytes)
    OLDEST.labels(v).set(health.oldest_unmirrored_age_s or 0)
    HEARTBEAT_AGE.labels(v).set(
        health.last_heartbeat_age_s if health.last_heartbeat_age_s is not None else float("nan")
    )
    DRAIN.labels(v).set(health.drain_rate_rps or 0)
    ETA.labels(v).set(health.eta_s if health.eta_s is not None else float("nan"))
    LOST.labels(v).set(health.lost_to_retention)
