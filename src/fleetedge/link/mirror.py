"""The flows of a vessel's link, and the downlink's dedicated MirrorMaker 2 process.

Three flows per vessel:

- ``priority`` (up): alerts, vessel status, command acknowledgements and heartbeats, in a
  connector of their own, so alerts never queue behind the bulk backlog in one fetch;
- ``bulk`` (up): window aggregates (and raw telemetry when asked), with small fetches so that a
  bulk response never holds the link for long;
- ``downlink`` (down): commands, and the heartbeats MirrorMaker 2 emits into the vessel, which
  the priority flow brings back ashore as ``<vessel>.heartbeats``: a probe of both directions.

The uplinks are connectors on the shore's Connect cluster (:mod:`fleetedge.link.connectors`).
The downlink writes to the vessel, so it runs as the vessel's own worker: MirrorMaker 2's
dedicated mode keeps its Connect group and internal topics on the cluster it writes to, here
the vessel, exactly as a Connect worker aboard would (see docs/link.md for why it is not a
connector of the shore's cluster, whose exactly-once transactions would then span the link).
Commands are at-least-once and carry ids the vessel de-duplicates on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetedge.events import topics
from fleetedge.files import write_private
from fleetedge.link.connect import IDLE_FETCH_WAIT_MS
from fleetedge.link.exceptions import MirrorStartError
from fleetedge.runtime.config import log4j2_text, render_properties
from fleetedge.runtime.jvm import KafkaRuntime, MarkedJvm

MM2_MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"
SHORE = "shore"
MM2_HEAP_MB = 256
# Six of these run in the demo fleet on two cores: the client-side JIT only (no C2 compiler
# threads and arenas), smaller thread stacks and a bounded metaspace keep each one's memory and
# start-up CPU down; a satellite link never needs C2's peak throughput.
MM2_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:MaxMetaspaceSize=128m")
INT_MAX = 2_147_483_647


def commands_topic(vessel: str) -> str:
    """The shore topic of commands for ``vessel``; it reaches the vessel as ``shore.<name>``.

    It must not start with ``<vessel>.``: the default replication policy would take it for a
    topic that came from the vessel and refuse to send it back (cycle prevention).
    """
    return f"fleet.commands.{vessel}"


@dataclass(frozen=True)
class Flow:
    """One MirrorMaker 2 process of a vessel's link. ``topics`` are source-side names; an
    empty tuple on the downlink means "this vessel's commands topic"."""

    name: str
    uplink: bool
    topics: tuple[str, ...]
    fetch_max_bytes: int
    heartbeats: bool
    # Per partition in one fetch (Kafka still returns a first batch that is larger, whole).
    partition_fetch_max_bytes: int | None = None  # None: fetch_max_bytes
    # The first and the longest wait between two tries to reach the vessel while the link is
    # down: once it is back, the flow reads again within this plus a connection's round trips.
    reconnect_ms: int = 500
    reconnect_max_ms: int = 5000
    # How often the flow lists the vessel's topics (``refresh.topics.interval.seconds``): an
    # answer of 3-4 kB across the link each time, the most of an idle link's bytes.
    refresh_topics_s: int = 60


PRIORITY = Flow(
    "priority",
    uplink=True,
    topics=(topics.ALERTS.name, topics.STATUS.name, topics.COMMAND_ACKS.name),
    fetch_max_bytes=16_384,
    heartbeats=True,
    # An outage leaves the minute's statuses and the downlink's 5 s heartbeats aboard, each a
    # batch of one record: with 16 KiB a partition they filled the first fetch after a restore
    # ahead of the alert. At 2 KiB a fetch carries a few of them beside the alert, and an
    # alert storm, written in large batches, still comes a batch at a time (BENCHMARKS.md, N4).
    partition_fetch_max_bytes=2048,
    # Alerts first after a cut: two tries a second cost a few bytes while the link is down.
    reconnect_ms=100,
    reconnect_max_ms=500,
    # A joining vessel's status must come ashore with its first windows; at 60 s it came up
    # to a minute after them (a fresh clone's test_a_vessel_joins_and_leaves_the_running_fleet).
    refresh_topics_s=10,
)
# The other flows try less often (up to every 15 s): right after a cut, the priority flow's
# reconnection and fetch have the 64 kbit/s to themselves instead of sharing them with every
# other client's handshakes and metadata. The bulk flow is held until the alerts are ashore
# anyway; a command waits at most 15 s longer after a cut.
BULK = Flow(
    "bulk",
    uplink=True,
    topics=(topics.AGGREGATES.name,),
    # 64 KiB a fetch: about five of the edge's batches (a boundary's windows of a partition,
    # 12 kB at zstd 19). A broker fills a fetch up to its limit and cuts the last batch, which
    # the consumer drops and fetches again whole: with 16 KiB a fetch, a quarter of every
    # drain's bytes were such tails (BENCHMARKS.md, N3). The bulk is held while alerts wait.
    fetch_max_bytes=65_536,
    heartbeats=False,
    reconnect_ms=1000,
    reconnect_max_ms=15_000,
)
DOWNLINK = Flow(
    "downlink",
    uplink=False,
    topics=(),
    fetch_max_bytes=65_536,
    heartbeats=True,
    reconnect_ms=1000,
    reconnect_max_ms=15_000,
)
FLOWS = (PRIORITY, BULK, DOWNLINK)
UPLINKS = (PRIORITY, BULK)


def with_telemetry(flow: Flow) -> Flow:
    """The bulk flow with the raw readings too (on request: they are most of the volume)."""
    return dataclasses.replace(flow, topics=(*flow.topics, topics.TELEMETRY.name))


def downlink_topic(kind: str) -> str:
    """An internal topic of the downlink's worker, aboard (kind: offsets, status or configs)."""
    return f"mm2-{kind}.{SHORE}.internal"


@dataclass(frozen=True)
class LinkEndpoints:
    vessel: str
    vessel_bootstrap: str  # through the link emulator
    shore_bootstrap: str
    shore_replication_factor: int = 3
    vessel_replication_factor: int = 3
    # The vessel principal's client settings (SASL_SSL) for each end, when it is secured.
    shore_security: Mapping[str, str] = dataclasses.field(default_factory=dict)
    vessel_security: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _link_clients(cluster: str) -> dict[str, str]:
    """Settings of every client that reaches the vessel through the link."""
    props: dict[str, str] = {}
    for client in ("consumer", "producer", "admin"):
        props |= {
            # Kafka 4's default re-bootstraps in a tight loop while every broker is
            # unreachable; across a cut link, retrying the known brokers is right.
            f"{cluster}.{client}.metadata.recovery.strategy": "none",
            f"{cluster}.{client}.reconnect.backoff.ms": str(DOWNLINK.reconnect_ms),
            f"{cluster}.{client}.reconnect.backoff.max.ms": str(DOWNLINK.reconnect_max_ms),
            f"{cluster}.{client}.request.timeout.ms": "120000",
        }
    # The worker's own clients aboard (its group membership, its internal topics' readers and
    # writers) take the top-level keys.
    props[f"{cluster}.metadata.recovery.strategy"] = "none"
    props[f"{cluster}.reconnect.backoff.ms"] = str(DOWNLINK.reconnect_ms)
    props[f"{cluster}.reconnect.backoff.max.ms"] = str(DOWNLINK.reconnect_max_ms)
    props[f"{cluster}.admin.default.api.timeout.ms"] = "180000"
    return props


def _pair(source: str, target: str, enabled: bool, rf: int) -> dict[str, str]:
    pair = f"{source}->{target}"
    if not enabled:
        # No herder at all for this direction in this process.
        return {f"{pair}.enabled": "false", f"{pair}.emit.heartbeats.enabled": "false"}
    return {
        f"{pair}.enabled": "true",
        # No consumer group fails over between vessel and shore, so checkpoints serve nothing.
        f"{pair}.emit.checkpoints.enabled": "false",
        f"{pair}.sync.group.offsets.enabled": "false",
        # Shore ACLs are the fleet's own (fleet security), never copied from a vessel.
        f"{pair}.sync.topic.acls.enabled": "false",
        # Nothing reads offset syncs (no checkpoints); on the shore they would be one topic
        # every vessel writes to, which per-vessel ACLs must not allow. (No other
        # offset-syncs.* setting may then be given: the connector refuses the mix.)
        f"{pair}.emit.offset-syncs.enabled": "false",
        f"{pair}.refresh.topics.interval.seconds": str(DOWNLINK.refresh_topics_s),
        f"{pair}.replication.factor": str(rf),
        f"{pair}.heartbeats.topic.replication.factor": str(rf),
        f"{pair}.tasks.max": "1",
    }


def mirror_properties(
    ends: LinkEndpoints, flow: Flow, rest_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The properties file of ``flow``'s MirrorMaker 2 process."""
    v, s = ends.vessel, SHORE
    down = f"{s}->{v}"
    props: dict[str, str] = {
        "clusters": f"{v}, {s}",
        f"{v}.bootstrap.servers": ends.vessel_bootstrap,
        f"{s}.bootstrap.servers": ends.shore_bootstrap,
        "dedicated.mode.enable.internal.rest": "true",
        "listeners": f"http://127.0.0.1:{rest_port}",
        "replication.policy.class": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
        # Every plugin on our class path has a ServiceLoader manifest: no reflective scan of
        # the jars at start. The top-level key serves MirrorMaker's own scan; each herder's
        # worker takes its target cluster's keys only, and without its own it ran the
        # reflective scan too: a minute of CPU per downlink start on two cores.
        "plugin.discovery": "service_load",
        f"{v}.plugin.discovery": "service_load",
        f"{s}.plugin.discovery": "service_load",
        **_link_clients(v),
        **{f"{v}.{key}": value for key, value in ends.vessel_security.items()},
        **{f"{s}.{key}": value for key, value in ends.shore_security.items()},
    }
    if flow.uplink:
        raise ValueError(f"{flow.name} is an uplink: it runs on the shore's Connect cluster")
    props |= _pair(s, v, True, ends.vessel_replication_factor)
    props |= _pair(v, s, False, ends.shore_replication_factor)
    topic = re.escape(commands_topic(v))
    props |= {
        f"{down}.topics": ",".join(re.escape(t) for t in flow.topics) or topic,
        f"{down}.emit.heartbeats.enabled": "true",
        # Every 5 s: a probe of both directions well inside the 30 s the link service calls
        # stale, at a fifth of the link's bytes that 1 s cost (a produce down, a fetch up).
        f"{down}.emit.heartbeats.interval.seconds": "5",
        f"{down}.heartbeats.replication.enabled": "false",
        f"{down}.sync.topic.configs.enabled": "false",
        f"{v}.group.id": f"{v}-mm2-downlink",
        f"{s}.consumer.isolation.level": "read_committed",
        # Produced through the link: wait out an outage rather than fail the task.
        f"{v}.producer.delivery.timeout.ms": str(INT_MAX),
        f"{v}.producer.max.block.ms": "600000",
        # Its one worker, back from a cut that cost it its group membership aboard, rejoins as
        # a new member: Connect would hold the tasks it had for the worker that "left" for
        # scheduled.rebalance.max.delay.ms (5 min by default) before handing them to anyone, and
        # commands waited that long after the link was back. There is no other worker to wait for.
        f"{v}.scheduled.rebalance.max.delay.ms": "0",
        # Its readers of its internal topics aboard wait 5 s for data, as Connect's ashore do
        # (IDLE_FETCH_WAIT_MS): no latency, fewer idle requests. Not longer: its
        # clean stop waits for their fetches, and must end well inside the link service's 30 s
        # (with 30 s here, it did not).
        f"{v}.fetch.max.wait.ms": IDLE_FETCH_WAIT_MS,
        # Its group's heartbeats cross the link: every 10 s, not 3 s. The session is 30 s, not
        # 10 s: a cut shorter than that no longer costs the membership. (A worker killed -9 is
        # replaced after 30 s: the new one's join waits for the old one's session to end.)
        f"{v}.heartbeat.interval.ms": "10000",
        f"{v}.session.timeout.ms": "30000",
    }
    for kind in ("offset", "status", "config"):
        props[f"{v}.{kind}.storage.replication.factor"] = str(ends.vessel_replication_factor)
    # One worker with one task keeps its offsets and status aboard: one partition each, not
    # Connect's 25 and 5, which doubled a vessel's partitions and its brokers' idle fetching.
    props[f"{v}.offset.storage.partitions"] = "1"
    props[f"{v}.status.storage.partitions"] = "1"
    if extra:
        props.update(extra)
    return props


class MirrorProcess(MarkedJvm):
    """One flow's MirrorMaker 2 JVM; found again from any process by its marker directory."""

    def __init__(
        self,
        runtime: KafkaRuntime,
        directory: Path,
        ends: LinkEndpoints,
        flow: Flow,
        *,
        rest_port: int,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.runtime = dataclasses.replace(
            runtime, heap_mb=MM2_HEAP_MB, extra_options=(*runtime.extra_options, *MM2_JVM_OPTIONS)
        )
        super().__init__(directory)
        self.ends = ends
        self.flow = flow
        self.rest_port = rest_port
        self.extra = dict(extra or {})

    @property
    def name(self) -> str:
        return f"{self.ends.vessel}/{self.flow.name}"

    def start(self) -> None:
        """Start the JVM (one per flow: a second start while it runs is refused)."""
        if self.alive():
            raise MirrorStartError(f"MirrorMaker 2 {self.name} already runs (pids {self.pids()})")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mm2.properties"
        # It may hold the vessel principal's password: readable by its owner only.
        write_private(
            config,
            render_properties(mirror_properties(self.ends, self.flow, self.rest_port, self.extra)),
        )
        log4j = self.directory / "log4j2.properties"
        log4j.write_text(log4j2_text())
        # Only the herders that write to the flow's target run in this process.
        target = SHORE if self.flow.uplink else self.ends.vessel
        args = [str(config), "--clusters", target]
        self._child = self.runtime.spawn(
            MM2_MAIN, args, log_dir=self.log_dir, log4j_config=log4j, marker=self.directory
        )
