"""The edge processor on a real cluster: the scripted scenario, crashes, hostile input."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bench.link_bench import edge_backlog
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from fleetedge.cli.edge_cmd import topics_with_prefix
from fleetedge.devices import FaultRates, TelemetryProducer, VesselSimulator, parse_script, run
from fleetedge.edge.logic import EdgeLogic, EdgeTopics
from fleetedge.edge.service import EdgeService
from fleetedge.events import JSON, Alert, ContainerWindow, ReadingValidator, decode
from fleetedge.events import topics as t
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.node import data_dir
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 11, 1, tzinfo=UTC)
VESSEL = "vessel-5"


def _simulator(containers: int, script: str = "") -> VesselSimulator:
    sim = VesselSimulator(VESSEL, containers, seed=4, start=T0, rates=FaultRates.none())
    first, second = sim.container_ids[:2]
    sim.script = parse_script(script.replace("{0}", first).replace("{1}", second))
    return sim


def _produce_run(
    cluster: KafkaCluster, topics: EdgeTopics, sim: VesselSimulator, minutes: int
) -> None:
    with TelemetryProducer(cluster.bootstrap_servers, topics.telemetry, JSON) as producer:
        run(sim, producer, duration=timedelta(minutes=minutes), speedup=0)


def _service(
    cluster: KafkaCluster, topics: EdgeTopics, sim: VesselSimulator, name: str
) -> EdgeService:
    validator = ReadingValidator(VESSEL, sim.container_ids, max_future=timedelta(days=36500))
    service = EdgeService(
        EdgeLogic(VESSEL, validator, topics=topics),
        bootstrap=cluster.bootstrap_servers,
        group_id=f"{name}-group",
        transactional_id=f"{name}-txn",
    )
    service.ensure_topics()
    return service


def _drain(service: EdgeService) -> None:
    service.start()
    try:
        wait_until(
            lambda: service.step() == 0 and service.caught_up(),
            timeout=300,
            what="edge caught up",
            interval=0,
        )
    finally:
        service.close()


def _values(cluster: KafkaCluster, topic: str) -> list[bytes]:
    return [m.value() for m in read_topic(cluster.bootstrap_servers, topic)]


def test_the_scripted_scenario_on_kafka_yields_the_expected_alerts_and_windows(
    cluster: KafkaCluster, topic_name: str
) -> None:
    topics = topics_with_prefix(f"{topic_name}.")
    sim = _simulator(
        120,
        "20m bay 3 power-loss 30m\n"
        "60m container {0} door-open 5m\n"
        "120m container {1} compressor-failure",
    )
    service = _service(cluster, topics, sim, topic_name)
    _produce_run(cluster, topics, sim, 240)
    _drain(service)

    alerts = [decode(v) for v in _values(cluster, topics.alerts)]
    assert all(isinstance(a, Alert) for a in alerts)
    rows = [
        (a.alert_kind.value, a.state.value, a.raised_at.minute + 60 * a.raised_at.hour)
        for a in alerts
        if isinstance(a, Alert)
    ]
    assert rows == [
        ("bay_power_incident", "raised", 20),
        ("bay_power_incident", "cleared", 20),
        ("door_open", "raised", 60),
        ("door_open", "cleared", 60),
        ("compressor_failure", "raised", 120),
    ]
    windows = [decode(v) for v in _values(cluster, topics.aggregates)]
    assert all(isinstance(w, ContainerWindow) for w in windows)
    # Windows ending by minute 225 are past their 5-minute grace at minute 240.
    assert len(windows) == 120 * 15
    counts = sorted({w.count for w in windows if isinstance(w, ContainerWindow)})
    assert counts == [14, 15]  # the first window holds minutes 1-14
    statuses = _values(cluster, topics.status)
    assert len(statuses) == 240


def test_sigkilled_ten_times_the_output_equals_a_failure_free_run(
    cluster: KafkaCluster, settings: RuntimeSettings, topic_name: str, tmp_path: Path
) -> None:
    script = (
        "30m bay 1 power-loss 40m\n"
        "100m container {0} door-open 5m\n"
        "150m container {1} compressor-failure"
    )
    sim = _simulator(150, script)
    crashed = topics_with_prefix(f"{topic_name}.crash.")
    clean = topics_with_prefix(f"{topic_name}.clean.")
    for topics in (crashed, clean):
        _service(cluster, topics, _simulator(150), f"{topic_name}-setup").close()
    _produce_run(cluster, crashed, sim, 360)
    # The same readings, byte for byte, for the failure-free run.
    copy = Producer({"bootstrap.servers": cluster.bootstrap_servers, "enable.idempotence": True})
    for msg in read_topic(cluster.bootstrap_servers, crashed.telemetry):
        copy.produce(clean.telemetry, msg.value(), key=msg.key())
    assert copy.flush(60) == 0

    env = {**os.environ, "FLEET_HOME": str(tmp_path), "FLEET_CACHE_DIR": str(settings.cache_dir)}
    command = [
        sys.executable,
        "-m",
        "fleetedge.cli",
        "edge",
        "run",
        "--vessel",
        VESSEL,
        "--bootstrap",
        cluster.bootstrap_servers,
        "--containers",
        "150",
        "--seed",
        "4",
        "--topic-prefix",
        f"{topic_name}.crash.",
        # Transactions of 1,000, not a backlog's 10,000: the 54,000 readings then take dozens
        # of commits, and each of the ten kills lands between two of them.
        "--batch",
        "1000",
    ]
    rng = random.Random(7)
    kills = 0
    progress: list[int] = []
    watcher = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": f"{topic_name}.crash.edge-{VESSEL}",
            # read_committed would make OffsetFetch wait for the killed instance's open
            # transaction (KIP-447) until the next instance fences it.
            "isolation.level": "read_uncommitted",
        }
    )
    end = watcher.get_watermark_offsets(TopicPartition(crashed.telemetry, 0), timeout=30)[1]
    tp = TopicPartition(crashed.telemetry, 0)

    def committed() -> int:
        return int(watcher.committed([tp], timeout=30)[0].offset)

    while kills < 10 and (before := max(committed(), 0)) < end:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # Kill once this instance has committed something, a random moment later: every
            # kill lands mid-stream, however long the process takes to start.
            wait_until(
                lambda: proc.poll() is not None or committed() > before,  # noqa: B023
                timeout=120,
                what="the edge to commit progress",
                interval=0.1,
            )
            if proc.poll() is not None:
                errors = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                pytest.fail(f"edge exited by itself: {errors}")
            time.sleep(rng.uniform(0.0, 0.5))  # where in its next batches the kill lands
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            progress.append(committed())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()
    watcher.close()
    # The kills landed mid-stream: progress between them, the end still ahead.
    mid_stream = {c for c in progress if 0 < c < end}
    assert kills == 10, (progress, end)
    assert len(mid_stream) >= 5, (progress, end)
    done = subprocess.run(
        [*command, "--exit-when-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    _drain(_service(cluster, clean, _simulator(150), f"{topic_name}-clean"))
    for name in ("aggregates", "alerts"):
        crashed_values = _values(cluster, getattr(crashed, name))
        clean_values = _values(cluster, getattr(clean, name))
        assert len(crashed_values) > 0
        assert crashed_values == clean_values, name


def _brokers(cluster: KafkaCluster) -> frozenset[int]:
    try:
        return cluster.metadata().brokers
    except KafkaException:
        return frozenset({-1})  # no answer: asked again


def test_the_group_coordinator_sigkilled_under_the_edge_stops_nothing(
    cluster: KafkaCluster, settings: RuntimeSettings, topic_name: str, tmp_path: Path
) -> None:
    """The broker coordinating the edge's group dies mid-stream: the edge goes on in the same
    process (no watchdog exit, no restart) and its output equals a failure-free run."""
    sim = _simulator(150, "60m bay 1 power-loss 40m")
    crashed = topics_with_prefix(f"{topic_name}.crash.")
    clean = topics_with_prefix(f"{topic_name}.clean.")
    for topics in (crashed, clean):
        _service(cluster, topics, _simulator(150), f"{topic_name}-setup").close()
    _produce_run(cluster, crashed, sim, 120)
    group = f"{topic_name}.crash.edge-{VESSEL}"
    tp = TopicPartition(crashed.telemetry, 0)
    watcher = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})

    def committed() -> int:
        try:
            return int(watcher.committed([tp], timeout=30)[0].offset)
        except KafkaException:
            return -1  # the watcher's own handle to the dead broker: asked again

    def end_offset() -> int | None:
        # A fresh client each time: after the kill, a long-lived one may keep asking the dead
        # broker for longer than the wait (it did once in CI, with the edge unharmed).
        probe = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})
        try:
            return int(probe.get_watermark_offsets(tp, timeout=20)[1])
        except KafkaException:
            return None
        finally:
            probe.close()

    env = {**os.environ, "FLEET_HOME": str(tmp_path), "FLEET_CACHE_DIR": str(settings.cache_dir)}
    command = [sys.executable, "-m", "fleetedge.cli", "edge", "run", "--vessel", VESSEL,
               "--bootstrap", cluster.bootstrap_servers, "--containers", "150", "--seed", "4",
               "--topic-prefix", f"{topic_name}.crash."]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        first_end = wait_until(end_offset, timeout=60, what="the telemetry's end")
        wait_until(lambda: proc.poll() is not None or committed() >= first_end, timeout=180,
                   what="the edge through the first two hours")  # fmt: skip
        assert proc.poll() is None, "the edge exited before the kill"
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        coordinator = described.coordinator.id
        cluster.kill_node(coordinator)
        # Once the broker is gone from the metadata, the clients drop its handle (the case
        # librdkafka #5511 hangs in); two more hours of readings come after that.
        wait_until(lambda: coordinator not in _brokers(cluster), timeout=120,
                   what=f"broker {coordinator} gone from the metadata")  # fmt: skip
        _produce_run(cluster, crashed, sim, 120)
        end = wait_until(end_offset, timeout=180, what="the telemetry's end")
        wait_until(lambda: proc.poll() is not None or committed() >= end, timeout=300,
                   what="the edge through the readings after the kill")  # fmt: skip
        cluster.start_node(coordinator)
        assert proc.poll() is None, "the edge exited after the coordinator's death"
    finally:
        if proc.poll() is None:
            proc.terminate()
        errors = proc.communicate(timeout=60)[1].decode()
        watcher.close()
    assert "hung" not in errors, errors[-2000:]

    copy = Producer({"bootstrap.servers": cluster.bootstrap_servers, "enable.idempotence": True})
    for msg in read_topic(cluster.bootstrap_servers, crashed.telemetry):
        copy.produce(clean.telemetry, msg.value(), key=msg.key())
    assert copy.flush(60) == 0
    _drain(_service(cluster, clean, _simulator(150), f"{topic_name}-clean"))
    for name in ("aggregates", "alerts"):
        crashed_values = _values(cluster, getattr(crashed, name))
        assert len(crashed_values) > 0
        assert crashed_values == _values(cluster, getattr(clean, name)), name


def _hostile(reading_json: bytes, earlier: bytes, n: int, rng: random.Random) -> bytes:
    """The n-th hostile record: bad bytes, bad schema, bad values, strangers, repeats."""
    document = json.loads(reading_json)
    makers = (
        lambda: rng.randbytes(rng.randint(0, 64)),
        lambda: earlier,  # a duplicate, or late
        lambda: json.dumps({**document, "humidity_pct": 300}).encode(),
        lambda: json.dumps({**document, "supply_air_c": float("nan")}).encode(),
        lambda: json.dumps({k: v for k, v in document.items() if k != "cargo"}).encode(),
        lambda: json.dumps({**document, "container_id": "ZZZU0000001"}).encode(),
        lambda: json.dumps({**document, "event_time": "2031-01-01T00:00:00Z"}).encode(),
        lambda: json.dumps({**document, "seq": "seven"}).encode(),
    )
    return makers[n % len(makers)]()


def test_ten_thousand_hostile_records_are_dead_lettered_and_change_no_result(
    cluster: KafkaCluster, topic_name: str
) -> None:
    clean = topics_with_prefix(f"{topic_name}.clean.")
    dirty = topics_with_prefix(f"{topic_name}.dirty.")
    sim = _simulator(150, "20m bay 2 power-loss 15m\n40m container {0} door-open 5m")
    for topics in (clean, dirty):
        _service(cluster, topics, _simulator(150), f"{topic_name}-setup").close()
    _produce_run(cluster, clean, sim, 60)
    valid = [m.value() for m in read_topic(cluster.bootstrap_servers, clean.telemetry)]

    rng = random.Random(3)
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap_servers, "enable.idempotence": True}
    )
    hostile = 0
    for i, value in enumerate(valid):
        producer.produce(dirty.telemetry, value)
        while hostile < 10_000 and hostile < (i + 1) * 10_000 // len(valid):
            earlier = valid[max(0, i - rng.randint(0, 100))]
            producer.produce(dirty.telemetry, _hostile(value, earlier, hostile, rng))
            hostile += 1
        producer.poll(0)
    assert producer.flush(60) == 0
    assert hostile == 10_000

    _drain(_service(cluster, clean, _simulator(150), f"{topic_name}-clean"))
    _drain(_service(cluster, dirty, _simulator(150), f"{topic_name}-dirty"))
    for name in ("aggregates", "alerts"):
        clean_values = _values(cluster, getattr(clean, name))
        assert len(clean_values) > 0
        assert _values(cluster, getattr(dirty, name)) == clean_values, name
    letters = read_topic(cluster.bootstrap_servers, dirty.dead_letters)
    assert len(letters) == 10_000
    assert all(dict(m.headers() or [])["reason"] for m in letters)
    assert _values(cluster, clean.dead_letters) == []


def test_windows_sent_as_lz4_cross_the_link_as_zstd_at_level_19(
    cluster: KafkaCluster, topic_name: str
) -> None:
    """The edge sends lz4; the vessel's brokers store (and so the link carries) its windows as
    their topic says. The same batch of a boundary's real windows, once as the edge sends it
    into a topic with the aggregates' config, once compressed by the producer at zstd's default
    level as before: the brokers' copy is smaller on disk, and reads back identical."""
    windows = [
        (key, value)
        for topic, key, value in edge_backlog(VESSEL, 250, 1)
        if topic == t.AGGREGATES.name
    ]
    compression = t.AGGREGATES.compression
    sizes = {}
    for name, codec, config in (
        (f"{topic_name}.link", "lz4", compression),
        (f"{topic_name}.before", "zstd", {}),
    ):
        create_topic(cluster.bootstrap_servers, name, replication_factor=3, config=config)
        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap_servers,
                "acks": "all",
                "compression.type": codec,
                "linger.ms": 1000,  # one batch: the whole boundary's windows
            }
        )
        for key, value in windows:
            producer.produce(name, value, key)
        assert producer.flush(60) == 0
        assert [
            (m.key(), m.value()) for m in read_topic(cluster.bootstrap_servers, name)
        ] == windows
        sizes[name] = sum(
            segment.stat().st_size
            for node_id in cluster.node_ids
            for segment in data_dir(cluster.state, node_id).glob(f"{name}-0/*.log")
        )
    link, before = sizes[f"{topic_name}.link"], sizes[f"{topic_name}.before"]
    assert link < 0.9 * before, f"{link} bytes at level 19 against {before} at level 3"
