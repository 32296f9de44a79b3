"""The demo's story, told as it happens on a running fleet: normal sailing, a reefer power
incident aboard, the satellite link cut, a vessel broker killed, the link restored and its
backlog drained (alerts first), "nothing lost" checked, and a read model rebuilt by replay that
equals the live one.

Each chapter waits for what it tells (in the read model, on the clusters) with a deadline, so
the story never claims what did not happen: a chapter that times out raises
:class:`StoryError` with what it was waiting for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fleetedge.api import queries
from fleetedge.api.reader import ReadModel
from fleetedge.events import topics as t
from fleetedge.link.emulator import Shape
from fleetedge.link.exceptions import LinkError
from fleetedge.link.health import measure
from fleetedge.link.mirror import UPLINKS
from fleetedge.orchestration.chaos import Chaos
from fleetedge.orchestration.check import aboard, check, compare
from fleetedge.orchestration.exceptions import StoryError
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.projections import open_database
from fleetedge.projections.replay import digest, live_snapshot, rebuild
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.reading import end_offset, read_to_end

T = TypeVar("T")
# The story's satellite link: what a vessel's guaranteed share of a VSAT link looks like. The
# bulk backlog then takes tens of seconds to drain, and the alerts' own flow overtakes it.
SATELLITE = Shape(kbps=128, latency_ms=600, jitter_ms=50)


@dataclass
class StoryResult:
    nothing_lost: bool
    replay_equal: bool
    alerts_drained_s: float | None
    windows_drained_s: float | None


class Story:
    def __init__(
        self,
        plan: FleetPlan,
        clusters: dict[str, KafkaCluster],
        chaos: Chaos,
        say: Callable[[str], None],
        *,
        outage_s: float = 45.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.stop = stop or threading.Event()
        self.plan = plan
        self.clusters = clusters
        self.chaos = chaos
        self.say = say
        self.outage_s = outage_s
        self.reader = ReadModel(plan.database)
        self.vessel = plan.vessels[0]
        self.shore = clusters[plan.shore].bootstrap_servers

    def tell(self) -> StoryResult:
        try:
            self.normal_sailing()
            self.incident()
            self.cut_link()
            self.kill_broker()
            alerts_s, windows_s = self.restore_link()
            lost = self.nothing_lost()
            equal = self.replay()
        finally:
            self.reader.close()
        return StoryResult(lost, equal, alerts_s, windows_s)

    # -- chapters -------------------------------------------------------------------------------

    def normal_sailing(self) -> None:
        self.say("1. normal sailing: every vessel reports ashore")
        expected = set(self.plan.vessels)

        def reporting() -> bool:
            vessels = queries.vessels(self.reader)
            self._seen = ", ".join(
                f"{v.vessel_id} {v.link.state or 'unknown'} with "
                f"{v.containers_total or 0}/{self.plan.containers} reefers"
                for v in vessels
            )
            ready = {
                v.vessel_id
                for v in vessels
                if v.link.state == "online" and (v.containers_total or 0) >= self.plan.containers
            }
            kpis = queries.kpis(self.reader).kpis
            counted = kpis.get("containers", 0)
            online = kpis.get("vessels_by_link_state", {}).get("online", 0)
            # The KPIs too: a vessel reported online with all its reefers can still be missing
            # from the analytics' sums (its windows never admitted ashore).
            self._seen += (
                f"; the fleet KPIs count {counted}/{len(expected) * self.plan.containers} "
                f"reefers and {online}/{len(expected)} vessels online"
            )
            return (
                ready >= expected
                and counted >= len(expected) * self.plan.containers
                and online == len(expected)
            )

        # The first minutes of a fleet on two cores: Connect's worker, each vessel's
        # connectors and downlink JVM start one after the other (minutes under that load).
        self._wait(reporting, 600, "every vessel online with all its containers ashore")
        k = queries.kpis(self.reader).kpis
        self.say(
            f"   {k.get('vessels')} vessels, {k.get('containers')} reefers, by state "
            f"{k.get('containers_by_state')}, links {k.get('vessels_by_link_state')}"
        )

    def incident(self) -> None:
        self.say(
            f"2. a reefer power incident on {self.vessel}: bay 3 loses power (scripted aboard)"
        )

        def raised() -> str | None:
            for a in queries.alerts(self.reader, vessel_id=self.vessel, state=None, limit=200):
                if a.kind == "bay_power_incident":
                    return a.summary
            return None

        summary = self._wait(raised, 300, "the bay power incident alert ashore")
        self.say(f"   alert ashore: {summary}")

    def cut_link(self) -> None:
        self.say(f"3. the satellite link of {self.vessel} is cut; the vessel keeps collecting")
        try:
            self.chaos.shape_link(self.vessel, SATELLITE)
            self._shaped = True
            self.say(f"   shaped to {SATELLITE.kbps} kbit/s, {SATELLITE.latency_ms} ms round trip")
        except LinkError as exc:
            self.say(f"   the link could not be shaped ({exc.message}): it runs unshaped")
        self._alerts_at_cut = self._alert_events(self.clusters[self.vessel])
        self.chaos.cut_link(self.vessel)
        self._cut_at = time.monotonic()
        self._wait(
            lambda: self._link(self.vessel) == "offline", 60, f"{self.vessel} offline ashore"
        )
        self.say(f"   {self.vessel} is offline ashore")

    def kill_broker(self) -> None:
        cluster = self.clusters[self.vessel]
        node = cluster.node_ids[-1]
        self.say(f"4. {self.vessel} broker {node} is killed (SIGKILL) during the outage")
        before = self._end(cluster, t.TELEMETRY.name)
        self.chaos.kill_broker(self.vessel, node)
        self._wait(
            lambda: self._end(cluster, t.TELEMETRY.name) > before + self.plan.containers,
            60,
            "readings still written aboard with a broker down",
        )
        self.say(f"   readings still written aboard on {len(cluster.node_ids) - 1} brokers")

        def back() -> bool:
            cluster.refresh()
            return cluster.is_alive(node)

        self._wait(back, 180, f"the supervisor to restart broker {node}")
        self.say(f"   the supervisor restarted broker {node}")
        self.say(f"   {self._backlog()} records wait aboard for the link")
        # The outage lasts at least ``outage_s`` and until an alert event is written aboard
        # during it (the incident clearing, at the latest), so that one waits for the link.
        self._wait(
            lambda: (
                time.monotonic() - self._cut_at >= self.outage_s
                and self._alert_events(cluster) > self._alerts_at_cut
            ),
            self.outage_s + 300,
            "an alert event aboard during the outage",
        )

    def restore_link(self) -> tuple[float | None, float | None]:
        cluster = self.clusters[self.vessel]
        windows, alerts = aboard(cluster.bootstrap_servers)
        tally = compare(self.vessel, windows, alerts, self.reader)
        self.say(
            f"5. the link is restored after {time.monotonic() - self._cut_at:.0f}s; "
            f"{len(tally.alerts_missing)} alerts and {len(tally.windows_missing)} windows wait"
        )
        self.chaos.restore_link(self.vessel)
        restored = time.monotonic()
        drained: dict[str, float] = {}

        def drain() -> bool:
            # The read model ashore holds what waited at the restore: delivered end to end.
            now = compare(self.vessel, windows, alerts, self.reader)
            for kind, left in (("alerts", now.alerts_missing), ("windows", now.windows_missing)):
                if not left and kind not in drained:
                    drained[kind] = time.monotonic() - restored
            return len(drained) == 2

        self._wait(drain, 300, "the backlog to drain ashore", every=0.25)
        alerts_s, windows_s = drained["alerts"], drained["windows"]
        order = "alerts first" if alerts_s <= windows_s else "windows first"
        self.say(
            f"   ashore: the alerts after {alerts_s:.1f}s, the windows after {windows_s:.1f}s "
            f"({order})"
        )
        if self._shaped:
            self.chaos.shape_link(self.vessel, Shape())
        try:
            self._wait(lambda: self._link(self.vessel) == "online", 180, f"{self.vessel} online")
            self.say(f"   {self.vessel} is online again")
        except StoryError:
            # Its data is ashore (above); only the heartbeats lag, while the link supervisor
            # restarts the downlink that emits them. The next chapters do not depend on it.
            self.say(f"   {self.vessel} is not reported online yet: its heartbeats are stale")
        return alerts_s, windows_s

    def nothing_lost(self) -> bool:
        self.say("6. completeness: everything the vessels hold must be ashore")
        vessels = {v: self.clusters[v].bootstrap_servers for v in self.plan.vessels}
        report = check(vessels, self.shore, self.reader, timeout=240)
        for line in report.lines():
            self.say(f"   {line}")
        if report.nothing_lost:
            self.say("   nothing lost")
        else:
            self.say("   RECORDS MISSING ashore")
        return report.nothing_lost

    def replay(self) -> bool:
        self.say("7. the read model is rebuilt by replay and compared with the live one")
        db = open_database(self.plan.database)
        try:
            live = live_snapshot(db)
            found: dict[str, str] = {}

            def verify(generation: int) -> None:
                found["digest"] = digest(db, generation)

            result = rebuild(db, self.shore, stop_at=live.offsets, verify=verify)
        finally:
            db.close()
        equal = found.get("digest") == live.digest
        self.say(
            f"   generation {result.generation}: {result.records} records replayed in "
            f"{result.seconds:.1f}s; digest {found.get('digest', '?')[:12]} vs live "
            f"{live.digest[:12]}: {'equal' if equal else 'DIFFERENT'}"
        )
        return equal

    # -- helpers --------------------------------------------------------------------------------

    _cut_at: float = 0.0
    _seen: str = ""  # what the probe being waited on saw last, for the error at its deadline
    _shaped: bool = False
    _alerts_at_cut: int = 0

    @staticmethod
    def _alert_events(cluster: KafkaCluster) -> int:
        return len(read_to_end(cluster.bootstrap_servers, t.ALERTS.name))

    def _link(self, vessel: str) -> str | None:
        found = queries.vessel(self.reader, vessel)
        return found.link.state if found else None

    @staticmethod
    def _end(cluster: KafkaCluster, topic: str) -> int:
        return end_offset(cluster.bootstrap_servers, topic)

    def _backlog(self) -> int:
        cluster = self.clusters[self.vessel]
        return measure(self.vessel, cluster.bootstrap_servers, self.shore, UPLINKS).backlog_records

    def _wait(self, probe: Callable[[], T], timeout: float, what: str, every: float = 1.0) -> T:
        """Poll ``probe`` until it returns something truthy; at the deadline, say what was
        last seen (``_seen``, set by the probe) or the error it last raised."""
        deadline = time.monotonic() + timeout
        self._seen = ""
        error: Exception | None = None
        while True:
            try:
                found = probe()
            except Exception as exc:  # noqa: BLE001 - a read during a failure drill: look again
                found, error = None, exc
            if found:
                return found
            if time.monotonic() > deadline:
                seen = self._seen or (f"last error: {error}" if error else "")
                raise StoryError(
                    f"the story waited {timeout:.0f}s for {what}" + (f" ({seen})" if seen else "")
                )
            if self.stop.wait(every):  # polling the fleet; the deadline bounds it
                raise StoryError("the story was interrupted")
