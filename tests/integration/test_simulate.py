"""The simulator against a real 3-node cluster: every reading lands, once, in sequence."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleetedge.devices import TelemetryProducer, VesselSimulator, run
from fleetedge.devices.run import RunStats
from fleetedge.events import JSON, ReeferReading, decode
from fleetedge.events.topics import TELEMETRY
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings
from tests.support.cli import fleet
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
START = datetime(2026, 11, 1, tzinfo=UTC)


def test_two_hundred_reefers_for_ten_hours_with_a_broker_killed_land_contiguously(
    cluster: KafkaCluster, topic_name: str
) -> None:
    create_topic(cluster.bootstrap_servers, topic_name, partitions=TELEMETRY.partitions)
    sim = VesselSimulator("vessel-7", 200, seed=42, start=START)
    producer = TelemetryProducer(cluster.bootstrap_servers, topic_name, JSON)
    outcome: list[RunStats | BaseException] = []

    def simulate() -> None:
        try:
            outcome.append(run(sim, producer, duration=timedelta(hours=10), speedup=0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            outcome.append(exc)

    worker = threading.Thread(target=simulate)
    worker.start()
    try:
        wait_until(lambda: producer.acked >= 30_000, timeout=300, what="30,000 readings acked")
        cluster.kill_node(2)
        acked = producer.acked
        wait_until(
            lambda: producer.acked >= acked + 20_000, timeout=300, what="acks with a broker dead"
        )
        cluster.start_node(2)
    finally:
        worker.join(600)
    assert not worker.is_alive()
    stats = outcome[0]
    assert isinstance(stats, RunStats), stats
    assert stats.readings == stats.acked == 200 * 600

    seqs: dict[str, list[int]] = defaultdict(list)
    for msg in read_topic(cluster.bootstrap_servers, topic_name):
        event = decode(msg.value())
        assert isinstance(event, ReeferReading)
        assert msg.key() == event.container_id.encode()
        seqs[event.container_id].append(event.seq)
    assert set(seqs) == set(sim.container_ids)
    for container, numbers in seqs.items():
        assert numbers == list(range(1, 601)), f"{container}: not 1..600 exactly once in order"


def test_fleet_simulate_produces_binary_readings_with_progress(
    cluster: KafkaCluster, settings: RuntimeSettings, tmp_path: Path
) -> None:
    script = tmp_path / "faults.txt"
    script.write_text("5m bay 1 power-loss 10m\n")
    done = fleet(
        "simulate",
        "--vessel",
        "vessel-8",
        "--bootstrap",
        cluster.bootstrap_servers,
        "--containers",
        "20",
        "--interval",
        "60",
        "--speedup",
        "0",
        "--duration",
        "30m",
        "--seed",
        "3",
        "--encoding",
        "binary",
        "--faults",
        str(script),
        "--start",
        "2026-11-01T00:00:00+00:00",
        home=tmp_path,
        settings=settings,
    )
    assert done.returncode == 0, done.stderr
    assert "600 readings of 20 reefers over 30 intervals, 600 acknowledged" in done.stdout
    readings = [decode(m.value()) for m in read_topic(cluster.bootstrap_servers, TELEMETRY.name)]
    mine = [r for r in readings if isinstance(r, ReeferReading) and r.vessel_id == "vessel-8"]
    assert len(mine) == 600
    off = {r.seq for r in mine if not r.power_on}
    assert off == set(range(5, 15))  # the scripted bay-1 outage, minutes 5 to 14
