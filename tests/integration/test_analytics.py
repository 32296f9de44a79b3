"""The fleet analytics scaled out on a real shore: cold starts, churn, the oracle, bad input.

The module's shore starts empty. Its tests run in file order: the cold starts need the empty
shore; the churn test feeds the fleet's data while workers come and go; the oracle and the
bad-input tests read that data back with fresh groups. Every worker is a ``fleet shore
analytics`` process, so kills are real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from fleetedge.events import DeadLetter, decode
from fleetedge.events import topics as t
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until
from fleetedge.shore.analytics import client_id
from tests.support.fleet import VesselRun, normalized, oracle, simulate
from tests.support.services import Service, analytics_workers, assignments, final_kpis, latest_kpis
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
VESSELS = ("vessel-1", "vessel-2", "vessel-3")
LINK_HISTORY = {"vessel-1": ["online"], "vessel-2": ["offline"], "vessel-3": ["degraded", "online"]}


@pytest.fixture(scope="module")
def shore(make_cluster: Callable[..., KafkaCluster]) -> Iterator[KafkaCluster]:
    cluster = make_cluster(nodes=1)
    yield cluster
    cluster.down(purge=True)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("analytics-logs")


@pytest.fixture(scope="module")
def runs() -> list[VesselRun]:
    return [simulate(v, containers=40, minutes=240, seed=i) for i, v in enumerate(VESSELS, 1)]


@pytest.fixture(scope="module")
def expected(runs: list[VesselRun]) -> dict[str, Any]:
    return oracle(runs, LINK_HISTORY)


class Feed:
    """The fleet's records as the normalizer writes them, fed once per module."""

    def __init__(self, bootstrap: str, runs: list[VesselRun]) -> None:
        self.bootstrap = bootstrap
        self.records = normalized(runs, LINK_HISTORY)
        self.done = False

    def send(self, records: list[tuple[str, str, bytes]], per_second: float = 0.0) -> None:
        for spec in (t.FLEET_WINDOWS, t.FLEET_ALERTS, t.FLEET_LINK):
            create_topic(
                self.bootstrap, spec.name, partitions=spec.partitions, replication_factor=1
            )
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        failed: list[object] = []

        def delivered(error: object, _msg: object) -> None:
            if error is not None:
                failed.append(error)

        pace = threading.Event()
        for i, (topic, key, value) in enumerate(records):
            producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
            producer.poll(0)
            if per_second and i % 20 == 19:
                pace.wait(20 / per_second)
        assert producer.flush(60) == 0
        assert not failed, f"{len(failed)} records not delivered: {failed[0]}"

    def all_at_once(self) -> None:
        if not self.done:
            self.send(self.records)
            self.done = True


@pytest.fixture(scope="module")
def feed(shore: KafkaCluster, runs: list[VesselRun]) -> Feed:
    return Feed(shore.bootstrap_servers, runs)


def _workers(
    logs: Path, bootstrap: str, group: str, n: int, state: Path, first: int = 0
) -> list[Service]:
    return analytics_workers(logs, bootstrap, group, range(first, first + n), state)


def _held_by(bootstrap: str, group: str, members: int) -> dict[str, list[tuple[str, int]]] | None:
    """The group's assignment once ``members`` workers each hold fleet.windows partitions and
    every one of its partitions is held."""
    held = assignments(bootstrap, group)
    if held is None or len(held) != members:
        return None
    windows = [p for parts in held.values() for topic, p in parts if topic == t.FLEET_WINDOWS.name]
    spread = all(
        any(topic == t.FLEET_WINDOWS.name for topic, _ in parts) for parts in held.values()
    )
    return held if spread and sorted(windows) == list(range(t.FLEET_WINDOWS.partitions)) else None


@pytest.mark.slow
def test_workers_started_together_on_an_empty_shore_never_exit(
    shore: KafkaCluster, logs: Path, tmp_path: Path
) -> None:
    bootstrap = shore.bootstrap_servers
    listed = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    assert not [n for n in listed if n.startswith(("fleet.", "changelog__"))], (
        "the first start needs an empty shore"
    )
    for start in range(10):
        group = f"cold-{start}"
        pair = _workers(logs, bootstrap, group, 2, tmp_path)

        def shared(g: str = group, pair: list[Service] = pair) -> object:
            return _held_by(bootstrap, g, 2) or [w for w in pair if not w.alive]

        try:
            wait_until(
                shared,
                timeout=120,
                what=f"start {start + 1}: two workers sharing the work",
            )
            dead = [w.output()[-2000:] for w in pair if not w.alive]
            assert not dead, f"start {start + 1}: a worker exited:\n{dead[0]}"
        finally:
            codes = Service.stop_all(pair)
        # A worker that cannot stop in 30 s prints its threads' stacks and exits 1.
        assert codes == [0, 0], f"start {start + 1}: exit codes {codes} on SIGTERM"
        assert not any("Traceback" in w.output() for w in pair)


def test_a_worker_stopped_as_it_starts_exits_cleanly(
    shore: KafkaCluster, logs: Path, tmp_path: Path
) -> None:
    """SIGTERM as soon as the worker says it runs, while Quix Streams' ``run()`` is getting
    going: ``run()`` resets its stop flag as it begins, so a stop taken then was lost and the
    worker ran on."""
    for attempt in range(3):
        (worker,) = _workers(logs, shore.bootstrap_servers, f"early-{attempt}", 1, tmp_path)

        def started(w: Service = worker) -> bool:
            return "running" in w.output() or not w.alive

        wait_until(
            started,
            timeout=60,
            interval=0.02,
            what="the worker to say it runs",
        )
        assert worker.stop(timeout=40) == 0, worker.output()[-2000:]


def _uncommitted(bootstrap: str, group: str, parts: list[tuple[str, int]]) -> int:
    """How many records of ``parts`` lie past the group's committed offsets (0 when none)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(tp, p) for tp, p in parts], timeout=30)
        return sum(
            consumer.get_watermark_offsets(c, timeout=30)[1] - max(c.offset, 0) for c in committed
        )
    finally:
        consumer.close()


def test_workers_joining_and_one_killed_mid_stream_change_no_result(
    shore: KafkaCluster, feed: Feed, expected: dict[str, Any], logs: Path, tmp_path: Path
) -> None:
    bootstrap = shore.bootstrap_servers
    assert not feed.done, "this test feeds the fleet's data itself, while workers come and go"
    cut = len(feed.records) * 2 // 3
    head, tail = feed.records[:cut], feed.records[cut:]
    sender = threading.Thread(target=feed.send, args=(head, 150.0), daemon=True)
    sender.start()
    workers = _workers(logs, bootstrap, "churn", 2, tmp_path)
    try:
        wait_until(lambda: latest_kpis(bootstrap, "churn.kpis"), timeout=120, what="first KPIs")
        workers += _workers(logs, bootstrap, "churn", 1, tmp_path, first=2)
        held = wait_until(
            lambda: _held_by(bootstrap, "churn", 3), timeout=120, what="3 workers sharing the work"
        )
        victim = workers[1]
        mine = [parts for cid, parts in held.items() if cid == client_id("churn", victim.proc.pid)]
        assert mine, f"the worker to kill is not in the group: {held}"
        assert mine[0], f"the worker to kill holds no partitions: {held}"
        # Mid-stream for real: input waits on the victim's partitions beyond its last commit.
        pending = wait_until(
            lambda: _uncommitted(bootstrap, "churn", mine[0]),
            timeout=60,
            what="input beyond the victim's committed offsets",
        )
        assert pending > 0
        victim.kill()
        sender.join(120)
        feed.send(tail)  # the rest of the input comes after the kill, so the kill is mid-stream
        feed.done = True
        kpis = final_kpis(bootstrap, "churn.kpis", expected, timeout=240)
        survivors = [w for w in workers if w is not victim]
        assert all(w.alive for w in survivors), survivors[0].output()[-3000:]
    finally:
        Service.stop_all(workers)
    assert kpis == expected, "same KPIs and the same number of changes: nothing lost or doubled"


@pytest.mark.parametrize("count", [1, 2, 4])
def test_one_two_or_four_workers_give_the_oracle_kpis_change_count_included(
    count: int, shore: KafkaCluster, feed: Feed, expected: dict[str, Any], logs: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    bootstrap = shore.bootstrap_servers
    feed.all_at_once()
    group = f"oracle-{count}"
    workers = _workers(logs, bootstrap, group, count, tmp_path)
    try:
        wait_until(lambda: _held_by(bootstrap, group, count), timeout=120, what=f"{group} spread")
        kpis = final_kpis(bootstrap, f"{group}.kpis", expected, timeout=240)
    finally:
        Service.stop_all(workers)
    assert kpis == expected
    assert kpis["containers"] == 120
    assert kpis["open_alerts"], "the busy fault rates raise alerts: the oracle must see some"
    latest = {m.key(): m.value() for m in read_topic(bootstrap, f"{group}.completeness")}
    assert len(latest) == 120
    assert all(b'"gaps":[]' in v for v in latest.values()), "every reading of every window ashore"


def test_malformed_records_are_dead_lettered_and_change_no_kpi(
    shore: KafkaCluster, feed: Feed, expected: dict[str, Any], logs: Path, tmp_path: Path
) -> None:
    bootstrap = shore.bootstrap_servers
    feed.all_at_once()
    garbage = [
        (t.FLEET_WINDOWS.name, "vessel-1/MSCU0000001", b"\x00garbage\xff"),
        (
            t.FLEET_WINDOWS.name,
            "vessel-2/MSCU0000002",
            b'{"kind": "reefer.window", "schema_version": 1}',
        ),
        (t.FLEET_ALERTS.name, "vessel-3/alert", b"[1, 2, 3]"),
        (t.FLEET_LINK.name, "vessel-1", feed.records[-1][2]),  # not a link report
    ]
    feed.send(garbage)
    workers = _workers(logs, bootstrap, "bad-input", 1, tmp_path)
    try:
        kpis = final_kpis(bootstrap, "bad-input.kpis", expected, timeout=240)

        def letters() -> list[DeadLetter] | None:
            found = [decode(m.value()) for m in read_topic(bootstrap, t.FLEET_DLQ.name)]
            mine = [d for d in found if isinstance(d, DeadLetter)]
            return mine if len(mine) >= len(garbage) else None

        dead = wait_until(letters, timeout=60, what="the dead letters", interval=1)
        assert workers[0].alive, "bad input must not stop a worker"
    finally:
        Service.stop_all(workers)
    assert kpis == expected
    assert len(dead) == len(garbage), "one letter per bad record"
    assert sorted(d.error for d in dead) == [
        "DecodeError", "DecodeError", "SchemaViolation", "WrongTopic",
    ]  # fmt: skip
    assert all(d.service == "shore-analytics" and d.reason for d in dead)
    assert {(d.source_topic, d.payload) for d in dead} == {(g[0], g[2]) for g in garbage}
    assert {d.vessel_id for d in dead} == {"vessel-1", "vessel-2", "vessel-3"}
