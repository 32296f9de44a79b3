"""The shore's view of one vessel through the real link.

A gap made on purpose closes end to end: shore detects it, asks the vessel, the vessel re-sends;
and the link's state, as the supervisor reports it, reaches the fleet KPIs.

Real vessel and shore clusters, the real link (Toxiproxy, a Connect worker carrying the uplink
connectors, the downlink, all under the link supervisor), and the real services as processes:
normalizer and analytics ashore, the resender aboard. One window of one container never reaches the
vessel's aggregates topic, as if the edge had lost it; its readings stay in the vessel's raw
telemetry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from fleetedge.events import JSON, CommandAck, ContainerWindow, decode
from fleetedge.events import topics as t
from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.link.emulator import LinkEmulator
from fleetedge.link.reports import LinkReporter, StateRules
from fleetedge.link.setup import vessel_link
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaRuntime
from fleetedge.runtime.exceptions import ClusterTimeoutError
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from fleetedge.shore import AnalyticsConfig, ensure_topics
from fleetedge.shore.backfill import ContainerGaps, read_completeness
from tests.support.fleet import VesselRun, simulate
from tests.support.services import Service, latest_kpis
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def linked(
    make_cluster: Callable[..., KafkaCluster],
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[tuple[KafkaCluster, KafkaCluster, LinkEmulator]]:
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    vessel = make_cluster(nodes=1, link=True)
    shore = make_cluster(nodes=1)
    ensure_topics(AnalyticsConfig(shore.bootstrap_servers, fleet_home, replication_factor=1))
    emulator = LinkEmulator(fleet_home / "backfill-link", binary.path, free_ports(1)[0])
    emulator.start()
    directory = fleet_home / "backfill-connect"
    group = ConnectGroup(
        runtime, directory, ConnectSettings(shore.bootstrap_servers, 1), free_ports(1)
    )
    connect = group.start()
    link = vessel_link(runtime, directory, emulator, vessel, shore, downlink_port=free_ports(1)[0])
    # Offline after 20 s without a heartbeat, so a short cut shows; stalls judged after 30 s.
    reporter = LinkReporter(
        shore.bootstrap_servers, fleet_home / "backfill-link", StateRules(offline_after_s=20)
    )
    supervisor = LinkSupervisor(
        [link], connect, stall_after=30, health_every=3, reporter=reporter, heartbeat_stale_after=15
    )
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop, 1.0), daemon=True)
    thread.start()
    try:
        yield vessel, shore, emulator
    finally:
        stop.set()
        thread.join(60)
        supervisor.close(kill=True)  # killed, not stopped: their data is deleted next
        group.kill()
        emulator.stop()


def _aboard(bootstrap: str, run: VesselRun, dropped: ContainerWindow) -> None:
    """Raw readings and the edge's outputs into the vessel's topics, less the dropped window."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for reading in run.readings:
        producer.produce(t.TELEMETRY.name, key=reading.container_id, value=JSON.encode(reading))
        producer.poll(0)
    for o in run.outputs:
        if o.topic == t.AGGREGATES.name and decode(o.value).event_id == dropped.event_id:
            continue
        if o.topic in (t.AGGREGATES.name, t.ALERTS.name, t.STATUS.name):
            producer.produce(o.topic, key=o.key, value=o.value)
            producer.poll(0)
    assert producer.flush(60) == 0


def _gaps_of(shore: str, container: str) -> ContainerGaps | None:
    return next((c for c in read_completeness(shore) if c.container_id == container), None)


def _with_gap(shore: str, container: str, gap: tuple[int, int]) -> ContainerGaps | None:
    found = _gaps_of(shore, container)
    return found if found is not None and gap in found.gaps else None


def _without_gaps(shore: str, container: str) -> ContainerGaps | None:
    found = _gaps_of(shore, container)
    return found if found is not None and not found.gaps else None


def test_a_dropped_window_is_detected_requested_and_closed(
    linked: tuple[KafkaCluster, KafkaCluster, LinkEmulator], tmp_path: Path
) -> None:
    vessel, shore, _ = linked
    run = simulate(vessel.name, containers=8, minutes=120, seed=7)
    windows = [
        w for o in run.of(t.AGGREGATES.name) if isinstance(w := decode(o.value), ContainerWindow)
    ]
    target = windows[0].container_id
    mine = [w for w in windows if w.container_id == target]
    dropped = mine[len(mine) // 2]
    services = [
        Service(
            tmp_path, "normalizer", "shore", "normalize", "--bootstrap", shore.bootstrap_servers
        ),
        Service(
            tmp_path, "analytics", "shore", "analytics", "--bootstrap", shore.bootstrap_servers,
            "--state-dir", str(tmp_path / "state"),
        ),
        Service(
            tmp_path, "resender", "edge", "resend", "--vessel", vessel.name, "--bootstrap",
            vessel.bootstrap_servers,
        ),
    ]  # fmt: skip
    try:
        _aboard(vessel.bootstrap_servers, run, dropped)
        gap = (dropped.first_seq, dropped.last_seq)
        detected = wait_until(
            lambda: _with_gap(shore.bootstrap_servers, target, gap),
            timeout=240,
            what=f"gap {gap} of {target} detected ashore",
            interval=2,
        )
        assert detected.gaps == (gap,), "exactly the dropped window's readings are missing"

        requester = Service(
            tmp_path, "backfill", "shore", "backfill", "--bootstrap", shore.bootstrap_servers,
            "--once",
        )  # fmt: skip
        assert requester.wait(120) == 0, requester.output()[-3000:]
        assert "1 backfill requests sent" in requester.output()

        closed = wait_until(
            lambda: _without_gaps(shore.bootstrap_servers, target),
            timeout=240,
            what=f"gap {gap} of {target} closed",
            interval=2,
        )
        assert closed.received == max(w.last_seq for w in mine)
        everyone = read_completeness(shore.bootstrap_servers)
        assert len(everyone) == 8
        assert not any(c.gaps for c in everyone)

        acks = wait_until(
            lambda: read_topic(shore.bootstrap_servers, t.FLEET_ACKS.name) or None,
            timeout=120,
            what="the vessel's ack ashore",
            interval=2,
        )
        ack = decode(acks[0].value())
        assert isinstance(ack, CommandAck)
        assert ack.status.value == "succeeded", ack.reason
        assert ack.container_id == target
        for s in services:
            assert s.alive, f"{s.name} died:\n{s.output()[-3000:]}"
    finally:
        for s in services:
            s.stop()


def _link_states(shore: str, wanted: dict[str, int]) -> dict[str, int] | None:
    doc = latest_kpis(shore, "link-states.kpis")
    states = None if doc is None else doc["vessels_by_link_state"]
    return states if states == wanted else None


def test_the_link_state_reaches_the_fleet_kpis_and_follows_a_cut(
    linked: tuple[KafkaCluster, KafkaCluster, LinkEmulator], tmp_path: Path
) -> None:
    vessel, shore, emulator = linked
    worker = Service(
        tmp_path, "analytics", "shore", "analytics", "--bootstrap", shore.bootstrap_servers,
        "--group", "link-states", "--state-dir", str(tmp_path / "state"),
        "--kpis-topic", "link-states.kpis", "--completeness-topic", "link-states.completeness",
    )  # fmt: skip
    try:
        wait_until(
            lambda: _link_states(shore.bootstrap_servers, {"online": 1}),
            timeout=120,
            what="the vessel online in the KPIs",
            interval=2,
        )
        emulator.cut(vessel.name)
        wait_until(
            lambda: _link_states(shore.bootstrap_servers, {"offline": 1}),
            timeout=180,
            what="the vessel offline in the KPIs after the cut",
            interval=2,
        )
        emulator.restore(vessel.name)
        try:
            wait_until(
                lambda: _link_states(shore.bootstrap_servers, {"online": 1}),
                timeout=180,
                what="the vessel online again after the restore",
                interval=2,
            )
        except ClusterTimeoutError:
            reports = read_topic(shore.bootstrap_servers, t.FLEET_LINK.name)
            last = [decode(m.value()) for m in reports[-3:]]
            pytest.fail(f"not online again; last reports: {last}")
        assert worker.alive, worker.output()[-3000:]
    finally:
        emulator.restore(vessel.name)
        worker.stop()
