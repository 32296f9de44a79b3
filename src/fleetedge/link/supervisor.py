"""What is left to watch on the link once Kafka Connect runs it: a reconciler and a watcher.

The uplinks are connectors on the shore's Connect cluster, and Connect does the healing it
can: workers share the tasks, and a dead worker's tasks move to the others. Connect never
restarts a FAILED task by itself, though, and cannot tell a link that is down from a task that
is stuck. Each round (every second or two) the supervisor:

1. asks Connect for every connector's status in one call; a vessel's missing connector is
   created (PUT; an unchanged config is not written again, which would restart it);
2. a connector or task FAILED: asks Connect to restart the failed ones
   (``POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true``);
3. a stall (records wait aboard, the vessel answers through the link, and the mirrored offsets
   have not moved for ``stall_after`` seconds, including a connector left with no task after
   it started while the vessel was unreachable): asks Connect to restart all of the vessel's
   connectors and tasks, backing off up to ``max_backoff``. The clock starts once the tasks
   run: what is still starting is not stuck;
   a connector whose config Connect has but whose status it has not listed for
   ``status_missing_after`` seconds (a status write its worker dropped; Connect shows the
   connector nowhere until its next state change): asks Connect to restart the connector
   (``POST /connectors/{name}/restart``), which writes its status again; and one RUNNING that
   lists no task for as long: asks Connect to restart each task its config has
   (``POST /connectors/{name}/tasks/{id}/restart``), or the connector if it has none. Each
   again after a wait that doubles (up to ``max_backoff``) while it stays so;
4. the downlink (a process of its own, see :mod:`fleetedge.link.mirror`): started again when
   gone, and restarted when heartbeats stay stale while the link answers (its Connect
   coordinator is aboard, and its worker does not always recover from a cut by itself);
5. alerts first: while the link is down, the bulk connector is paused; once the link answers
   again it stays paused until no committed alert waits aboard (at most ``bulk_hold_max``
   seconds), and is then resumed. The backlog of windows never reaches the shore before the
   alerts that waited with it, whichever connector reconnects first. (Status records are not
   waited for: a vessel writes them all the time.)

A restart is safe at any point: uplinks are exactly-once, so resumed tasks neither lose nor
repeat records. Vessels are added and removed while it runs (:meth:`add`, :meth:`remove`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

import structlog
from confluent_kafka import KafkaException

from fleetedge.events.topics import ALERTS
from fleetedge.link.connectors import connector_name
from fleetedge.link.exceptions import ConnectRestError
from fleetedge.link.health import LinkHealth, OffsetsTail, measure
from fleetedge.link.metrics import CONNECTOR_UP, DOWNLINK_UP, RESTARTS, TASKS, export
from fleetedge.link.mirror import BULK, UPLINKS
from fleetedge.link.probe import LinkProbe
from fleetedge.link.reports import LinkReporter
from fleetedge.link.rest import ConnectorState, ConnectRest
from fleetedge.link.vessels import Overdue, VesselLink
from fleetedge.runtime.exceptions import ClusterError

log = structlog.get_logger("fleetedge.link.supervisor")

UNMEASURABLE_WARN_S = 120.0  # a health not measurable this long is said as a warning
LOOKS_AT_ONCE = 16  # vessels looked at in parallel (each look is a blocking call)
LOOK_WAIT_S = 1.0  # a round's wait for the looks: a link that answers does so in milliseconds


class LinkSupervisor:
    """Keeps every vessel's connectors and downlink as they should be; measures link health."""

    def __init__(
        self,
        links: Sequence[VesselLink],
        connect: ConnectRest,
        *,
        stall_after: float = 90.0,
        max_backoff: float = 600.0,
        health_every: float = 5.0,
        reporter: LinkReporter | None = None,
        heartbeat_stale_after: float = 30.0,
        heartbeat_restart_after: float = 45.0,
        downlink_start_grace: float = 180.0,
        bulk_hold_max: float = 60.0,
        # Past a rebalance or two under load: the connectors of a vessel just added list a
        # status within seconds, or (a write Connect dropped) never.
        status_missing_after: float = 30.0,
        manage_connectors: bool = True,
    ) -> None:
        self.links: dict[str, VesselLink] = {link.vessel: link for link in links}
        self.connect = connect
        # False where another owner (Strimzi's KafkaConnector resources) creates and deletes
        # the connectors: they are then only watched, and failed tasks restarted.
        self.manage_connectors = manage_connectors
        self.heartbeat_stale_after = heartbeat_stale_after
        self.heartbeat_restart_after = heartbeat_restart_after
        self.downlink_start_grace = downlink_start_grace
        self.bulk_hold_max = bulk_hold_max
        self.status_missing_after = status_missing_after
        self.reporter = reporter
        self.stall_after = stall_after
        self.max_backoff = max_backoff
        self.health_every = health_every
        self._health_at = 0.0
        # Connect's offsets topic, read on from one look to the next (per shore bootstrap).
        self._offsets: dict[str, OffsetsTail] = {}
        self._looks_pool = ThreadPoolExecutor(LOOKS_AT_ONCE, "link-look")
        self._lock = threading.RLock()
        self.events: list[tuple[str, str, str]] = []  # (vessel, flow, reason) of each restart

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            for link in self.links.values():
                self._start_downlink(link)

    def run(
        self,
        stop: threading.Event,
        interval: float = 2.0,
        on_round: Callable[[], None] | None = None,
    ) -> None:
        """Rounds until ``stop``; ``on_round`` runs before each (vessels joining, leaving)."""
        self.start()
        while not stop.wait(interval):
            try:
                if on_round is not None:
                    on_round()
                self.step()
            except Exception:  # one bad round must not end the watch of every vessel
                log.exception("link round failed; the next one tries again")

    def close(self, stop_processes: bool = True, kill: bool = False) -> None:
        """Close the clients; stop the downlinks (all at once) unless ``stop_processes`` is
        False, or SIGKILL them if ``kill`` (their data is about to be deleted)."""
        if self.reporter is not None:
            self.reporter.close()
        self._looks_pool.shutdown(wait=True, cancel_futures=True)  # no look on a closed probe
        with self._lock:
            for tail in self._offsets.values():
                tail.close()
            for link in self.links.values():
                if link.probe is not None:
                    link.probe.close()
            if not stop_processes:
                return
            # Each downlink's clean stop takes seconds (its consumers finish their fetches):
            # they all stop at once, not one after the other past the supervisor's patience.
            downlinks = {
                v: link.downlink for v, link in self.links.items() if link.downlink is not None
            }
            for downlink in downlinks.values():
                if kill:
                    downlink.kill()
                else:
                    downlink.signal_stop()
            for vessel, downlink in downlinks.items():
                downlink.stop()
                DOWNLINK_UP.labels(vessel).set(0)

    def add(self, link: VesselLink) -> None:
        """Carry one more vessel: its connectors are created on the next round."""
        with self._lock:
            self.links[link.vessel] = link
            self._start_downlink(link)

    def remove(self, vessel: str) -> bool:
        """Stop carrying ``vessel``: delete its connectors, stop its downlink. False if it was
        not carried. Its offsets stay with Connect, so adding it again resumes where it was."""
        with self._lock:
            link = self.links.pop(vessel, None)
        if link is None:
            return False
        for name in link.connectors if self.manage_connectors else ():
            self.connect.delete(name)
        if link.look is not None:
            wait([link.look])  # its probe is closed next
        if link.probe is not None:
            link.probe.close()
        if link.downlink is not None:
            link.downlink.stop()
        if self.reporter is not None:
            # Its last word ashore: offline, so no reader lists it as live any more.
            gone = LinkHealth(vessel, int(time.time() * 1000), vessel_reachable=False)
            self.reporter.report(gone, link_answers=False)
        log.info("vessel link removed", vessel=vessel)
        return True

    def restarts(self, vessel: str) -> int:
        return sum(1 for v, _, _ in self.events if v == vessel)

    # -- one round ------------------------------------------------------------------------------

    def step(self) -> None:
        """One round of checks (call every second or two)."""
        now = time.monotonic()
        measure_now = now - self._health_at >= self.health_every
        if measure_now:
            self._health_at = now
        with self._lock:
            links = list(self.links.values())
        try:
            states = self.connect.connectors()
        except ConnectRestError as exc:
            log.info("connect not answering now", error=exc.message)
            states = None
        # Every vessel's connectors first: a measure takes seconds per vessel on a loaded
        # machine, and the last vessel's connectors must not wait for all the others' measures.
        for link in links:
            if states is not None:
                self._reconcile(link, states)
            self._check_downlink(link)
        if measure_now:
            for link, answers in zip(links, self._look_all(links), strict=True):
                if answers is not None:
                    self._measure(link, answers)

    # -- checks ---------------------------------------------------------------------------------

    def _reconcile(self, link: VesselLink, states: dict[str, ConnectorState]) -> None:
        for name, config in link.connectors.items():
            flow = name.rsplit(".", 1)[-1]
            state = states.get(name)
            try:
                if state is None:
                    # Absent, or not started by any worker yet (Connect lists no status then).
                    if self.manage_connectors:
                        if self.connect.put_config(name, config):
                            log.info("connector created", vessel=link.vessel, connector=name)
                        self._missing(link, name, flow, "status")
                    continue
                link.missing.pop((name, "status"), None)
                if state.state == "RUNNING" and not state.tasks:
                    self._missing(link, name, flow, "tasks")
                else:
                    link.missing.pop((name, "tasks"), None)
                link.states[name] = state
                running = (
                    bool(state.tasks)
                    and state.state == "RUNNING"
                    and all(t.state == "RUNNING" for t in state.tasks)
                )
                now = time.monotonic()
                link.seen_at.setdefault(name, now)
                if running:
                    link.running_since.setdefault(name, now)
                else:
                    link.running_since.pop(name, None)
                CONNECTOR_UP.labels(link.vessel, flow).set(1 if running else 0)
                TASKS.labels(link.vessel, flow).set(len(state.tasks))
                if state.failed:
                    log.warning("connector failed, asking Connect to restart it",
                                vessel=link.vessel, connector=name,
                                cause=state.first_trace())  # fmt: skip
                    self.connect.restart(name, only_failed=True)
                    self._record(link, flow, "task-failed")
            except ConnectRestError as exc:
                log.warning("connect refused", vessel=link.vessel, connector=name,
                            error=exc.message)  # fmt: skip

    def _missing(self, link: VesselLink, name: str, flow: str, what: str) -> None:
        """Connect lists the connector without its ``what``: its status (a worker writes one
        within a rebalance of starting it; one it never writes, since Connect drops a status
        write that failed while the group's generation moved, hides the connector until its
        next state change) or its tasks (a connector started while its vessel was away found
        no topics, or its tasks' statuses went with its own). A restart of the connector, or of
        its tasks, is the state change."""
        now = time.monotonic()
        due = link.missing.setdefault((name, what), Overdue(now, self.status_missing_after))
        if now - due.since < due.wait:
            return
        log.warning("connector listed incomplete, asking Connect to restart it",
                    vessel=link.vessel, connector=name, missing=what,
                    for_s=round(now - due.since))  # fmt: skip
        due.since, due.wait = now, min(self.max_backoff, 2 * due.wait)
        # The forms of restart that need no status: Connect plans the others from it.
        tasks = self.connect.task_ids(name) if what == "tasks" else []
        for task in tasks:
            self.connect.restart_task(name, task)
        if not tasks:  # its status, or no task at all: the connector lists its topics again
            self.connect.restart_connector(name)
        self._record(link, flow, f"{what}-missing")

    def _look_all(self, links: Sequence[VesselLink]) -> list[bool | None]:
        """Each vessel's look through its link (:meth:`_looks`), all at once; the round waits
        ``LOOK_WAIT_S`` for them. A cut link's look takes its whole timeout, twice (6 s): it
        goes on, and a later round reads it (None now: that vessel is measured then), so no
        other vessel's hold and report wait for it. With the looks in turn, one cut vessel
        held back every other vessel's round by those 6 s."""
        for link in links:
            if link.look is None:
                link.look = self._looks_pool.submit(self._looks, link)
        wait([link.look for link in links if link.look is not None], timeout=LOOK_WAIT_S)
        answers: list[bool | None] = []
        for link in links:
            look = link.look
            if look is None or not look.done():
                answers.append(None)
                continue
            link.look = None
            answers.append(look.result())
        return answers

    def _measure(self, link: VesselLink, answers: bool) -> None:
        # Through the link first, as the shore sees the vessel (``answers``): a cut shows in
        # the report of this round, not only when heartbeats grow old (the backlog's measure
        # takes seconds).
        flows = [f for f in UPLINKS if connector_name(link.vessel, f) in link.connectors]
        try:
            offsets = self._offsets.setdefault(
                link.shore_bootstrap, OffsetsTail(link.shore_bootstrap)
            )
            health = link.drain.update(
                measure(link.vessel, link.vessel_bootstrap, link.shore_bootstrap, flows, offsets)
            )
        except (KafkaException, ClusterError) as exc:
            # The shore is away: no stall can be judged, and the clock starts again after.
            now = link.progress_at = time.monotonic()
            since = link.unmeasurable_since = link.unmeasurable_since or now
            if now - since >= UNMEASURABLE_WARN_S and now - link.unmeasurable_warned >= 60:
                link.unmeasurable_warned = now
                log.warning("link health not measurable for a while", vessel=link.vessel,
                            for_s=round(now - since), error=str(exc))  # fmt: skip
            else:
                log.info("link health not measurable now", vessel=link.vessel, error=str(exc))
            return
        link.unmeasurable_since = None
        link.health = health
        export(health)
        if self.reporter is not None:
            self.reporter.report(health, link_answers=answers, heartbeats=link.downlink is not None)
        now = time.monotonic()
        # A full link answers late: the look's answer queues behind the bulk's fetches (a few
        # seconds of them at 64 kbit/s) and timed out in a drain, which held the bulk again.
        # Records mirrored since the last look keep the bulk going. Only the hold: what is
        # seen mirrored lags (Connect's offsets, read on) and a cut vessel stayed "online" for
        # over 30 s with it, so the report and the other checks keep to the look.
        mirrored = sum(p.next_to_mirror for p in health.partitions)
        self._hold_bulk(link, health, answers or 0 <= link.last_mirrored < mirrored)
        self._check_uplinks(link, health, now, answers)
        self._check_heartbeats(link, health, now, answers)

    @staticmethod
    def _looks(link: VesselLink) -> bool:
        """Does the vessel answer through the link? A second look follows a failed one at once
        (3 s later): one look timing out on a busy machine is not a cut."""
        if link.probe is None:
            link.probe = LinkProbe(link.link_bootstrap)
        return link.probe.answers() or link.probe.answers()

    def _hold_bulk(self, link: VesselLink, health: LinkHealth, answers: bool) -> None:
        """Pause the bulk connector while the link is down; resume it once the priority
        topics have nothing committed waiting aboard (see the module doc, step 5)."""
        bulk = connector_name(link.vessel, BULK)
        if bulk not in link.connectors:
            return
        # Connect lists a connector's status only once a worker has started it; before, there
        # is nothing to pause (its first start comes after this round's look anyway).
        state = link.states.get(bulk)
        if state is None:
            return
        reported = state.state
        now = time.monotonic()
        if not answers or not health.vessel_reachable:
            link.answers_since = None
        elif link.answers_since is None:
            link.answers_since = now
        waiting = [
            p for p in health.partitions
            if p.topic == ALERTS.name and p.oldest_unmirrored_ms is not None
        ]  # fmt: skip
        held_too_long = (
            link.answers_since is not None and now - link.answers_since >= self.bulk_hold_max
        )
        # Decided on what we asked (``bulk_held``) and on Connect's word (a hold from before a
        # restart of this service): Connect reports a pause only once the task has taken it.
        recently_resumed = now - link.resumed_at < 60
        held = link.bulk_held or (reported == "PAUSED" and not recently_resumed)
        try:
            if link.answers_since is None and not link.bulk_held:
                self.connect.pause(bulk)
                link.bulk_held = True
                log.info("link down: bulk paused", vessel=link.vessel)
            elif link.answers_since is not None and held and (not waiting or held_too_long):
                self.connect.resume(bulk)
                link.bulk_held = False
                link.resumed_at = now
                log.info("alerts ashore: bulk resumed", vessel=link.vessel,
                         alerts_waiting=len(waiting))  # fmt: skip
        except ConnectRestError as exc:
            log.warning("connect refused", connector=bulk, error=exc.message)

    def _check_uplinks(
        self, link: VesselLink, health: LinkHealth, now: float, answers: bool
    ) -> None:
        """Restart the connectors if records wait, the link answers and nothing moves."""
        mirrored = sum(p.next_to_mirror for p in health.partitions)
        if mirrored != link.last_mirrored or health.backlog_records == 0:
            link.last_mirrored = mirrored
            link.progress_at = now
            link.backoff = 0.0
            return
        if not answers:
            link.progress_at = now  # the link is down: waiting is right, and no stall
            return
        waited = now - max(link.progress_at, self._started(link, link.connectors))
        if waited < self.stall_after + link.backoff:
            return
        log.warning("link stalled, asking Connect to restart its connectors", vessel=link.vessel,
                    backlog=health.backlog_records, stalled_s=round(waited))  # fmt: skip
        for name in link.connectors:
            try:
                self.connect.restart(name, only_failed=False)
            except ConnectRestError as exc:
                log.warning("connect refused", connector=name, error=exc.message)
                continue
            self._record(link, name.rsplit(".", 1)[-1], "stalled")
        link.progress_at = now
        link.backoff = min(self.max_backoff, max(self.stall_after, 2 * link.backoff))

    def _started(self, link: VesselLink, names: Iterable[str]) -> float:
        """When the last of ``names`` had its tasks running: a stall is counted from then. A
        connector still without tasks counts from ``stall_after`` after it was first seen
        (its start lists topics through the link and fences zombies: a minute on a loaded
        machine); one not seen yet, from now."""
        now = time.monotonic()
        started = [
            link.running_since.get(n)
            or (link.seen_at[n] + self.stall_after if n in link.seen_at else now)
            for n in names
        ]
        return max(started, default=now)

    def _check_downlink(self, link: VesselLink) -> None:
        process = link.downlink
        if process is None or time.monotonic() < link.downlink_not_before:
            return
        alive = process.alive()
        DOWNLINK_UP.labels(link.vessel).set(1 if alive else 0)
        if not alive:
            log.warning("downlink gone, restarting it", vessel=link.vessel)
            self._restart_downlink(link, "exited")

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
        young = now - link.downlink_started < self.downlink_start_grace
        if not answers or link.downlink is None or (beat is None and young):
            # Down, or never heard from yet while its worker and the priority connector are
            # still starting (minutes on a loaded machine): waiting is right.
            link.beats_at = now
            return
        # Heartbeats come ashore through the priority connector: stale ones say nothing of
        # the downlink until that connector's tasks run.
        priority = [n for n in link.connectors if n != connector_name(link.vessel, BULK)]
        since = max(link.beats_at, self._started(link, priority))
        if now - since < self.heartbeat_restart_after + link.beat_backoff:
            return
        log.warning("heartbeats stale while the link answers, restarting the downlink",
                    vessel=link.vessel, heartbeat_age_s=beat)  # fmt: skip
        self._restart_downlink(link, "heartbeats-stale")
        link.beats_at = now
        link.beat_backoff = min(
            self.max_backoff, max(self.heartbeat_restart_after, 2 * link.beat_backoff)
        )

    # -- actions --------------------------------------------------------------------------------

    def _record(self, link: VesselLink, flow: str, reason: str) -> None:
        self.events.append((link.vessel, flow, reason))
        RESTARTS.labels(link.vessel, flow, reason).inc()

    def _start_downlink(self, link: VesselLink) -> None:
        if link.downlink is None or link.downlink.alive():
            return
        link.downlink_started = time.monotonic()
        link.downlink.start()
        DOWNLINK_UP.labels(link.vessel).set(1)
        log.info("downlink started", vessel=link.vessel, pid=link.downlink.pids())

    def _restart_downlink(self, link: VesselLink, reason: str) -> None:
        assert link.downlink is not None  # noqa: S101 - callers check
        lived = time.monotonic() - link.downlink_started
        pause = min(300.0, max(5.0, 2 * link.downlink_pause)) if lived < 120 else 0.0
        link.downlink_pause = pause
        link.downlink_not_before = time.monotonic() + pause
        link.downlink.kill()
        self._start_downlink(link)
        self._record(link, "downlink", reason)
        log.info("downlink restart paced", vessel=link.vessel, lived_s=round(lived),
                 next_check_in_s=pause)  # fmt: skip
