"""The ship-to-shore link with real clusters, a real Connect cluster of two workers carrying
MirrorMaker 2's connectors, and a real link emulator.

One vessel (3 nodes, reached by the shore only through Toxiproxy) and one shore (3 nodes) for
the module; the supervisor runs beside the tests as it runs in the fleet. Each test produces
its own containers (a distinct owner code), so its check covers exactly what it produced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from fleetedge.events import topics
from fleetedge.events.codec import decode
from fleetedge.link.audit import audit
from fleetedge.link.connect import ConnectGroup, ConnectSettings, ConnectWorker
from fleetedge.link.connectors import connector_name
from fleetedge.link.emulator import LinkEmulator, Shape
from fleetedge.link.exceptions import ConnectRestError, ConnectUnavailable
from fleetedge.link.health import LinkHealth, measure
from fleetedge.link.mirror import BULK, UPLINKS, commands_topic
from fleetedge.link.probe import LinkProbe
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor, VesselLink
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.reading import end_offset
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.support.traffic import EventTraffic, arrived_once_in_order, shore_sequences
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka

OUTAGE_S = 185  # longer than the MirrorMaker 2 producer's delivery.timeout.ms (120 s)
WEEK_MS = str(7 * 24 * 3600 * 1000)


@dataclass
class LinkEnv:
    vessel: KafkaCluster
    shore: KafkaCluster
    emulator: LinkEmulator
    link: VesselLink
    supervisor: LinkSupervisor
    workers: list[ConnectWorker]
    connect: ConnectRest

    @property
    def name(self) -> str:
        return self.vessel.name

    def traffic(
        self, owner: str, *, containers: int = 40, rate: float = 50.0, alert_every: int = 25
    ) -> EventTraffic:
        return EventTraffic(
            self.vessel.bootstrap_servers,
            self.name,
            owner,
            containers=containers,
            rate=rate,
            alert_every=alert_every,
        )

    def health(self) -> LinkHealth:
        return measure(
            self.name, self.vessel.bootstrap_servers, self.shore.bootstrap_servers, UPLINKS
        )


@pytest.fixture(scope="module")
def env(
    make_cluster: Callable[..., KafkaCluster],
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[LinkEnv]:
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    # Retention is checked every 2 s aboard so the retention test needs no long wait.
    vessel = make_cluster(link=True, **{"log.retention.check.interval.ms": "2000"})
    shore = make_cluster()
    emulator = LinkEmulator(fleet_home / "link", binary.path, free_ports(1)[0])
    emulator.start()
    directory = fleet_home / "link" / "connect"
    settings_ = ConnectSettings(shore.bootstrap_servers, shore.replication_factor)
    group = ConnectGroup(runtime, directory, settings_, free_ports(2))
    workers = group.workers
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        connect = group.start()
        link = vessel_link(
            runtime, directory, emulator, vessel, shore, downlink_port=free_ports(1)[0]
        )
        supervisor = LinkSupervisor([link], connect, stall_after=60, health_every=3)
        thread = threading.Thread(target=supervisor.run, args=(stop, 1.0), daemon=True)
        thread.start()
        yield LinkEnv(vessel, shore, emulator, link, supervisor, workers, connect)
    finally:
        stop.set()
        if thread is not None:
            thread.join(60)
            supervisor.close()
        group.stop()
        emulator.stop()


@pytest.fixture
def linked(env: LinkEnv) -> Iterator[LinkEnv]:
    """The link up, unshaped, every node of both clusters running, before and after a test."""
    env.emulator.restore(env.name)
    env.emulator.shape(env.name, Shape())
    yield env
    env.emulator.restore(env.name)
    env.emulator.shape(env.name, Shape())
    for cluster in (env.vessel, env.shore):
        if not all(cluster.is_alive(node) for node in cluster.node_ids):
            cluster.up()
    for worker in env.workers:
        worker.start()  # as the fleet's supervisor would, after a test killed it


def test_every_record_arrives_once_in_order(linked: LinkEnv) -> None:
    traffic = linked.traffic("NRMU", rate=200).start()
    wait_until(lambda: traffic.acked_count >= 4000, timeout=120, what="4000 records acked")
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert dups == {topics.AGGREGATES.name: 0, topics.ALERTS.name: 0}


def test_mirrored_partitions_and_configs_match_the_vessel(linked: LinkEnv) -> None:
    admin = AdminClient({"bootstrap.servers": linked.shore.bootstrap_servers})
    for spec in (topics.AGGREGATES, topics.ALERTS, topics.STATUS):
        name = topics.on_shore(linked.name, spec)
        wait_until(lambda: name in admin.list_topics(timeout=10).topics, timeout=60, what=name)  # noqa: B023
        assert len(admin.list_topics(name, timeout=10).topics[name].partitions) == spec.partitions
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        config = admin.describe_configs([resource])[resource].result()
        assert config["retention.ms"].value == spec.config["retention.ms"]
    # Offset syncs live ashore: nothing but the records crosses the link.
    vessel_admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
    assert not [t for t in vessel_admin.list_topics(timeout=10).topics if "offset-syncs" in t]


def test_command_from_shore_reaches_the_vessel_once(linked: LinkEnv) -> None:
    producer = Producer({"bootstrap.servers": linked.shore.bootstrap_servers, "acks": "all"})
    aboard = f"shore.{commands_topic(linked.name)}"

    def send() -> bytes:
        marker = f"cmd-{time.time_ns()}".encode()
        producer.produce(commands_topic(linked.name), marker, linked.name.encode())
        assert producer.flush(30) == 0
        return marker

    def values() -> list[bytes]:
        admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
        if aboard not in admin.list_topics(timeout=10).topics:
            return []
        return [m.value() for m in read_topic(linked.vessel.bootstrap_servers, aboard)]

    first = send()
    wait_until(lambda: first in values(), timeout=120, what="the command aboard", interval=2)
    # A later command aboard means the flow has moved past the first: it is there once still.
    later = send()
    wait_until(lambda: later in values(), timeout=120, what="a later command aboard", interval=2)
    now = values()
    assert (now.count(first), now.count(later)) == (1, 1)
    # Its herder found the plugins by their manifests: no minute-long reflective scan.
    assert linked.link.downlink is not None
    started = (linked.link.downlink.log_dir / "server.log").read_text()
    assert "ServiceLoaderScanner" in started
    assert "ReflectionScanner" not in started


def test_heartbeats_come_ashore_and_the_backlog_is_empty(linked: LinkEnv) -> None:
    def fresh() -> bool:
        health = linked.health()
        age = health.last_heartbeat_age_s
        return age is not None and age < 10 and health.backlog_records == 0

    wait_until(fresh, timeout=120, what="a fresh heartbeat and no backlog", interval=2)


@pytest.mark.slow
def test_three_minute_outage_loses_nothing(linked: LinkEnv) -> None:
    traffic = linked.traffic("OUTU", rate=40).start()
    wait_until(lambda: traffic.acked_count >= 200, timeout=60, what="traffic before the cut")
    linked.emulator.cut(linked.name)
    _produce_through_outage(traffic, rate=40)
    during = linked.health()
    assert during.backlog_records > 40 * 60
    assert (during.oldest_unmirrored_age_s or 0) > 60
    linked.emulator.restore(linked.name)
    # The traffic goes on while the backlog drains.
    wait_until(lambda: traffic.acked_count >= 200 + 40 * (OUTAGE_S + 5), timeout=120, what="more")
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert sum(dups.values()) == 0
    wait_until(lambda: linked.health().backlog_records == 0, timeout=120, what="drained")


@pytest.mark.slow
def test_flapping_link_loses_nothing(linked: LinkEnv) -> None:
    traffic = linked.traffic("FLPU", rate=40).start()
    stop = threading.Event()
    flips = linked.emulator.flap(linked.name, every=10, duration=120, stop=stop)
    assert flips >= 6
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert sum(dups.values()) == 0


def _tasks(env: LinkEnv) -> dict[str, str]:
    """Each running task of the vessel's connectors and the worker (host:port) running it;
    nothing while Connect rebalances (409) or the worker asked is the one killed."""
    try:
        states = env.connect.connectors()
    except ConnectUnavailable:
        return {}
    return {
        f"{name}/{task.id}": task.worker
        for name in env.link.connectors
        if name in states
        for task in states[name].tasks
        if task.state == "RUNNING"
    }


def _both_running(env: LinkEnv, away_from: str | None = None) -> dict[str, str] | None:
    """Both tasks RUNNING (none on the worker ``away_from``): task -> worker; else None."""
    tasks = _tasks(env)
    if len(tasks) != 2 or away_from in tasks.values():
        return None
    return tasks


def _serves(worker: ConnectWorker, env: LinkEnv) -> bool:
    """The worker answers with every connector of the vessel: it has joined and read them."""
    try:
        own = ConnectRest([worker.url], timeout=10).connectors()
    except ConnectUnavailable:
        return False
    return set(env.link.connectors) <= set(own)


def _settled(env: LinkEnv, quiet_s: float = 20.0) -> None:
    """Wait until both tasks have run on the same workers for ``quiet_s`` (a worker that came
    back gets tasks handed over within Connect's rebalance delay, 10 s)."""
    since, seen = time.monotonic(), _tasks(env)

    def quiet() -> bool:
        nonlocal since, seen
        tasks = _tasks(env)
        if len(tasks) != 2 or tasks != seen:
            since, seen = time.monotonic(), tasks
            return False
        return time.monotonic() - since >= quiet_s

    wait_until(quiet, timeout=240, what="the tasks settled on their workers", interval=1)


def _ashore_total(env: LinkEnv) -> int:
    sequences = shore_sequences(
        env.shore.bootstrap_servers, topics.on_shore(env.name, topics.AGGREGATES), 3
    )
    return sum(len(seen) for seen in sequences.values())


def test_a_killed_worker_hands_its_tasks_over_and_nothing_is_lost_or_doubled(
    linked: LinkEnv,
) -> None:
    traffic = linked.traffic("WKLU", rate=80).start()
    for round_ in range(2):
        # The flow must have made progress since the last kill before the next one.
        before = _ashore_total(linked)
        wait_until(lambda: _ashore_total(linked) >= before + 200, timeout=180,  # noqa: B023
                   what="windows ashore since the last kill", interval=2)  # fmt: skip
        tasks = wait_until(lambda: _both_running(linked), timeout=120, what="both tasks")
        busy = next(iter(tasks.values()))
        victim = next(w for w in linked.workers if busy.endswith(f":{w.rest_port}"))
        victim.kill()
        # Connect, not the test, moves its tasks: onto the surviving worker.
        moved = wait_until(
            lambda: _both_running(linked, away_from=busy),  # noqa: B023
            timeout=180,
            what=f"round {round_}: the tasks of the killed worker running elsewhere",
            interval=1,
        )
        assert all(w != busy for w in moved.values())
        victim.start()  # back, as the fleet's supervisor would restart it
        # Back in the group, with the configs read, before the next kill.
        wait_until(
            lambda: _serves(victim, linked),  # noqa: B023
            timeout=180,
            what="the worker back in the group",
            interval=1,
        )
    wait_until(lambda: traffic.acked_count >= 2000, timeout=120, what="traffic after the kills")
    traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    print(f"duplicates ashore after two worker kills: {dups}")
    assert sum(dups.values()) == 0


def test_a_failed_task_is_restarted_and_its_records_arrive_once(linked: LinkEnv) -> None:
    admin = AdminClient({"bootstrap.servers": linked.shore.bootstrap_servers})
    shore_alerts = topics.on_shore(linked.name, topics.ALERTS)
    resource = ConfigResource(ConfigResource.Type.TOPIC, shore_alerts)
    wait_until(lambda: shore_alerts in admin.list_topics(timeout=10).topics, timeout=120,
               what=shore_alerts)  # fmt: skip
    # A connector that (re)starts syncs the topic configs of the vessel onto the shore, which
    # would undo the limit below: the tasks must have settled where Connect put them.
    _settled(linked)
    seen = len(linked.supervisor.events)
    traffic = linked.traffic("FAIU", containers=1)
    # The shore refuses the alert (a batch of over 400 bytes) as too large: a non-retriable
    # error, so MirrorMaker 2 marks the task FAILED and leaves it so. The supervisor must
    # notice and restart the flow. (The limit stays above a transaction marker's size: Kafka's
    # coordinator cannot recover from a marker the partition refuses.)
    _alter(admin, resource, {"max.message.bytes": "200"})
    try:
        traffic.one_alert()

        def failed_and_restarted() -> bool:
            return ("priority", "task-failed") in [
                (f, r) for _, f, r in linked.supervisor.events[seen:]
            ]

        wait_until(failed_and_restarted, timeout=180, what="a task-failed restart", interval=1)
    finally:
        _alter(admin, resource, {"max.message.bytes": "1048588"})
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert dups == {topics.ALERTS.name: 0}


@pytest.mark.slow
def test_shore_down_three_minutes_recovers_without_help(linked: LinkEnv) -> None:
    traffic = linked.traffic("SHDU", rate=40).start()
    wait_until(lambda: traffic.acked_count >= 200, timeout=60, what="traffic before the outage")
    for node in linked.shore.node_ids:
        linked.shore.kill_node(node)
    _produce_through_outage(traffic, rate=40)
    linked.shore.up()  # all three nodes at once: one alone has no quorum to register with
    linked.shore.wait_in_sync(timeout=180)
    traffic.stop()
    dups = arrived_once_in_order(
        linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=600
    )
    assert sum(dups.values()) == 0


def test_alerts_overtake_the_bulk_backlog(linked: LinkEnv) -> None:
    linked.emulator.shape(linked.name, Shape(kbps=64, latency_ms=600, jitter_ms=50))
    traffic = linked.traffic("PRIU", containers=2500)
    linked.emulator.cut(linked.name)
    # One hour of a 2,500-reefer vessel's 15-minute windows waits aboard.
    traffic.burst(4 * 2500)
    alert = traffic.one_alert()
    linked.emulator.restore(linked.name)
    restored = time.monotonic()
    shore_alerts = topics.on_shore(linked.name, topics.ALERTS)

    def alert_ashore() -> bool:
        seen = shore_sequences(linked.shore.bootstrap_servers, shore_alerts, 1)
        return alert.seq in seen.get(f"{alert.kind}:{alert.source}", [])

    wait_until(alert_ashore, timeout=180, what="the alert ashore", interval=0.5)
    latency = time.monotonic() - restored
    backlog = linked.health().backlog_records
    print(f"first alert ashore {latency:.1f}s after reconnection, {backlog} windows still aboard")
    assert backlog > 1000, "the alert should have overtaken most of the bulk backlog"
    linked.emulator.shape(linked.name, Shape())
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=600)


@pytest.mark.slow
def test_alerts_come_ashore_before_the_backlog_ten_times_running(linked: LinkEnv) -> None:
    traffic = linked.traffic("AFTU", containers=50)
    wait_until(lambda: _both_running(linked), timeout=180, what="both connectors running")
    orders = [_cut_and_restore(linked, traffic, cycle) for cycle in range(10)]
    print("first alert and first backlogged window after each restore (s):", orders)
    assert all(o["alert"] < o["window"] for o in orders), orders
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)


def _cut_and_restore(env: LinkEnv, traffic: EventTraffic, cycle: int) -> dict[str, float]:
    """A backlog of windows and an alert behind a cut; after the restore, when the first of
    each came ashore (seconds)."""
    shore = env.shore.bootstrap_servers
    flows = {
        "alert": topics.on_shore(env.name, topics.ALERTS),
        "window": topics.on_shore(env.name, topics.AGGREGATES),
    }
    env.emulator.cut(env.name)
    traffic.burst(300)
    traffic.one_alert()
    # The link service has seen the cut and asked Connect to hold the bulk connector; Connect
    # reports the hold once its task has taken the pause (at its next turn).
    bulk = connector_name(env.name, BULK)

    def bulk_paused() -> bool:
        state = env.connect.status(bulk)
        return state is not None and state.tasks_paused

    wait_until(bulk_paused, timeout=60, what=f"cycle {cycle}: the bulk held during the cut")
    before = {name: end_offset(shore, topic) for name, topic in flows.items()}
    env.emulator.restore(env.name)
    first: dict[str, float] = {}
    began = time.monotonic()

    def arrived() -> bool:
        for name, topic in flows.items():
            if name not in first and end_offset(shore, topic) > before[name]:
                first[name] = time.monotonic() - began
        return len(first) == 2

    wait_until(arrived, timeout=120, what=f"cycle {cycle}: both flows ashore", interval=0.1)
    return first


def test_the_link_probe_sees_each_cut_and_each_restore(linked: LinkEnv) -> None:
    # One long-lived connection, as the link service keeps per vessel, through three cuts.
    probe = LinkProbe(linked.link.link_bootstrap)
    try:
        assert probe.answers()
        for cycle in range(3):
            linked.emulator.cut(linked.name)
            wait_until(lambda: not probe.answers(), timeout=30,
                       what=f"cut {cycle}: the probe sees the cut")  # fmt: skip
            linked.emulator.restore(linked.name)
            wait_until(probe.answers, timeout=30, what=f"cut {cycle}: the probe answers again")
    finally:
        probe.close()


@pytest.mark.slow
def test_shaped_link_keeps_up_with_a_full_vessel(linked: LinkEnv) -> None:
    linked.emulator.shape(linked.name, Shape(kbps=64, latency_ms=600))
    # 2,500 reefers, a window each per 15 minutes, at 3x that rate to show the margin.
    rate = 3 * 2500 / 900
    traffic = linked.traffic("SHPU", containers=2500, rate=rate, alert_every=50).start()
    wanted = int(rate * 90)  # 90 s of that rate, counted in acknowledged windows
    wait_until(lambda: traffic.acked_count >= wanted, timeout=150, what="90 s of windows",
               interval=5)  # fmt: skip
    traffic.stop()
    stopped = time.monotonic()
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=120)
    lag = time.monotonic() - stopped
    print(f"at 3x a 2,500-reefer vessel's rate over 64 kbit/s, 600 ms: drained {lag:.1f}s after")
    assert lag < 60, "the link fell behind at three times a full vessel's rate"


def test_records_lost_to_retention_are_reported(linked: LinkEnv) -> None:
    admin = AdminClient({"bootstrap.servers": linked.vessel.bootstrap_servers})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topics.AGGREGATES.name)
    traffic = linked.traffic("RETU", containers=10)
    linked.emulator.cut(linked.name)
    try:
        traffic.burst(300)
        # Retention catches up with the outage: only new segments survive.
        fast = {"retention.ms": "1000", "segment.ms": "500"}
        _alter(admin, resource, fast)
        # The link health sees the loss while the link is still down.
        lost = wait_until(
            lambda: _roll_and_count_lost(traffic, linked),
            timeout=120,
            what="retention to remove unmirrored records",
            interval=2,
        )
    finally:
        restore = {"retention.ms": topics.AGGREGATES.config["retention.ms"], "segment.ms": WEEK_MS}
        _alter(admin, resource, restore)
        linked.emulator.restore(linked.name)
    # The vessel goes on: later windows show ashore that earlier ones never came.
    traffic.burst(20)
    shore_topic = topics.on_shore(linked.name, topics.AGGREGATES)
    wait_until(lambda: linked.health().backlog_records == 0, timeout=120, what="drained")
    values = [m.value() for m in read_topic(linked.shore.bootstrap_servers, shore_topic)]
    mine = [v for v in values if decode(v).source.split("/")[-1].startswith("RETU")]
    report = audit(shore_topic, mine)
    print(report.summary())
    assert report.missing >= lost > 0, "the retention gap must show in the sequence numbers"
    assert "missing" in report.summary()


def _produce_through_outage(traffic: EventTraffic, rate: float) -> None:
    """Hold the outage until the vessel has produced ``OUTAGE_S`` seconds' worth of records."""
    target = traffic.acked_count + int(rate * OUTAGE_S)
    wait_until(lambda: traffic.acked_count >= target, timeout=OUTAGE_S * 2,
               what="an outage's worth of records aboard", interval=5)  # fmt: skip


def _roll_and_count_lost(traffic: EventTraffic, env: LinkEnv) -> int:
    traffic.burst(10)  # a new record rolls the segment once segment.ms has passed
    return env.health().lost_to_retention


def _alter(admin: AdminClient, resource: ConfigResource, values: dict[str, str]) -> None:
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in values.items()
    ]
    target = ConfigResource(resource.restype, resource.name, incremental_configs=entries)
    admin.incremental_alter_configs([target])[target].result()


def test_connect_refusals_are_one_clear_line_and_change_nothing(linked: LinkEnv) -> None:
    before = set(linked.connect.connectors())
    bad = {**next(iter(linked.link.connectors.values())), "connector.class": "no.such.Connector"}
    with pytest.raises(ConnectRestError) as refused:
        linked.connect.put_config("not-a-vessel.priority", bad)
    assert refused.value.status == 400
    assert "no.such.Connector" in refused.value.message
    assert "\n" not in refused.value.message
    assert not refused.value.retriable
    assert set(linked.connect.connectors()) == before
    # Connect not answering at all is retriable, and says which worker did not answer.
    with pytest.raises(ConnectUnavailable) as away:
        ConnectRest(["http://127.0.0.1:9"], timeout=5).connectors()
    assert away.value.retriable
    assert "127.0.0.1:9" in away.value.message
    assert "\n" not in away.value.message
