"""Shore on a real cluster: normalizer, fleet analytics workers, projector, rebuild by replay.

Three simulated vessels' edge outputs land ashore as MirrorMaker 2 names them; every service
runs as its own ``fleet shore`` process, so the tests SIGKILL them for real.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from prometheus_client import REGISTRY

from fleetedge.devices.synthetic import window
from fleetedge.events import JSON, DeadLetter, decode
from fleetedge.events import topics as t
from fleetedge.projections import digest, open_database
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.base import current_generation, ensure_projection, rows
from fleetedge.runtime import KafkaCluster
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.postgres import PostgresServer
from fleetedge.runtime.waiting import wait_until
from fleetedge.shore import AnalyticsConfig, ensure_topics
from fleetedge.shore.kpis import combine
from fleetedge.shore.normalizer import Normalizer
from tests.support.cli import fleet as run_fleet
from tests.support.fleet import VesselRun, mirror, normalized, oracle, simulate
from tests.support.services import Service, final_kpis, latest_kpis
from tests.support.verifiable import read_topic

pytestmark = pytest.mark.kafka
VESSELS = ("vessel-1", "vessel-2", "vessel-3")
WINDOWS = t.FLEET_WINDOWS.name
LINK_HISTORY = {"vessel-1": ["online"], "vessel-2": ["offline"], "vessel-3": ["degraded", "online"]}


@pytest.fixture(scope="module")
def shore(make_cluster: Callable[..., KafkaCluster]) -> KafkaCluster:
    return make_cluster(nodes=1)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shore-logs")


@pytest.fixture(scope="module")
def runs() -> list[VesselRun]:
    return [simulate(v, containers=40, minutes=240, seed=i) for i, v in enumerate(VESSELS, 1)]


def _link_reports(bootstrap: str) -> None:
    """Link reports as the supervisor writes them; vessel-3 degraded, then online again."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for topic, key, value in normalized([], LINK_HISTORY):
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


@pytest.fixture(scope="module")
def fleet(shore: KafkaCluster, runs: list[VesselRun], logs: Path) -> Iterator[dict[str, Any]]:
    """The fleet's data ashore and normalized; yields the oracle. The normalizer keeps running."""
    bootstrap = shore.bootstrap_servers
    ensure_topics(AnalyticsConfig(bootstrap, logs, replication_factor=1))
    normalizer = Service(logs, "normalizer", "shore", "normalize", "--bootstrap", bootstrap)
    try:
        mirror(bootstrap, runs)
        _link_reports(bootstrap)
        expected = sum(len(r.of(t.AGGREGATES.name)) for r in runs)
        wait_until(
            lambda: len(read_topic(bootstrap, WINDOWS)) == expected or None,
            timeout=180,
            what=f"{expected} windows normalized",
            interval=2,
        )
        yield {"oracle": oracle(runs, LINK_HISTORY), "normalizer": normalizer}
    finally:
        normalizer.stop()


def _project(logs: Path, bootstrap: str, url: str, name: str, *extra: str) -> Service:
    return Service(
        logs, name, "shore", "project", "--bootstrap", bootstrap, "--database", url, *extra
    )


@pytest.fixture(scope="module")
def live_kpis(shore: KafkaCluster, fleet: dict[str, Any], logs: Path, tmp_path_factory: Any) -> Any:
    """The live analytics of the fleet (group fleet-analytics), run once for the read models."""
    state = tmp_path_factory.mktemp("live-state")
    worker = Service(
        logs,
        "live-analytics",
        "shore",
        "analytics",
        "--bootstrap",
        shore.bootstrap_servers,
        "--state-dir",
        str(state),
    )
    try:
        yield final_kpis(shore.bootstrap_servers, t.FLEET_KPIS.name, fleet["oracle"], 240)
    finally:
        worker.stop()


def test_replay_analytics_rebuilds_the_state_stores_from_the_events(
    shore: KafkaCluster, live_kpis: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    done = run_fleet(
        "replay", "analytics", "--bootstrap", shore.bootstrap_servers, "--group", "rebuilt",
        "--state-dir", str(tmp_path / "rebuilt"), "--idle", "10",
        "--kpis-topic", "rebuilt.kpis", "--completeness-topic", "rebuilt.completeness",
        home=tmp_path, settings=settings,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert latest_kpis(shore.bootstrap_servers, "rebuilt.kpis") == live_kpis


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg"), free_ports(1)[0])
    try:
        yield server.start()
    finally:
        server.purge()


def _database_url(kind: str, tmp: Path, postgres: Callable[[], PostgresServer]) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'fleet.db'}"
    server = postgres()
    name = f"db_{uuid.uuid4().hex[:8]}"
    import psycopg  # noqa: PLC0415

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + f"/{name}"


def _caught_up(url: str, expected: dict[str, Any]) -> Callable[[], bool]:
    def check() -> bool:
        db = open_database(url)
        try:
            gen = current_generation(db)
            if gen is None:
                return False
            docs = [json.loads(r[2]) for r in rows(db, gen, "fleet_kpis")]
            return bool(docs) and combine(docs) == expected
        finally:
            db.close()

    return check


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_rebuilt_projection_equals_the_live_one_row_for_row(
    kind: str,
    shore: KafkaCluster,
    fleet: dict[str, Any],
    live_kpis: dict[str, Any],
    logs: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    bootstrap = shore.bootstrap_servers
    url = _database_url(kind, tmp_path, lambda: request.getfixturevalue("postgres"))
    live = _project(logs, bootstrap, url, f"projector-{kind}")
    try:
        wait_until(_caught_up(url, fleet["oracle"]), timeout=180, what="live read model")
        done = run_fleet(
            "replay", "projection", "fleet", "--bootstrap", bootstrap, "--database", url,
            home=tmp_path, settings=request.getfixturevalue("settings"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "swapped in" in done.stdout
        db = open_database(url)
        try:
            assert current_generation(db) == 2
            assert digest(db, 1) == digest(db, 2), "rebuilt tables differ from the live ones"
            assert len(list(rows(db, 2, "containers"))) == 120
            windows = len(list(rows(db, 2, "container_windows")))
            assert windows == len(read_topic(bootstrap, WINDOWS))
        finally:
            db.close()
        assert live.alive, live.output()[-3000:]
        # The live projector follows the swap and keeps writing generation 2.
        wait_until(
            lambda: "follows a swap" in live.output(), timeout=30, what="projector follows swap"
        )
    finally:
        live.stop()


def test_a_projector_killed_before_its_commit_counts_nothing_twice(
    shore: KafkaCluster, fleet: dict[str, Any], live_kpis: dict[str, Any], logs: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    bootstrap = shore.bootstrap_servers
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    crash_url = f"sqlite:///{tmp_path / 'crash.db'}"
    clean = _project(logs, bootstrap, clean_url, "projector-clean", "--exit-when-idle", "5")
    assert clean.wait(240) == 0, clean.output()[-3000:]
    clean_records = _committed(clean_url)
    crashing = _project(
        logs, bootstrap, crash_url, "projector-crash", "--batch", "300", "--crash-in-batch", "4"
    )
    assert crashing.wait(120) == -9, "the seam kills the projector inside its 4th transaction"
    committed = _committed(crash_url)
    # Its three batches were committed, and the crash came before the end (offsets count the
    # transaction markers too, so the number of records is not exact here).
    assert 0 < committed < clean_records, (committed, clean_records)
    again = _project(logs, bootstrap, crash_url, "projector-again", "--exit-when-idle", "5")
    assert again.wait(240) == 0, again.output()[-3000:]
    a, b = open_database(clean_url), open_database(crash_url)
    try:
        assert digest(a, 1) == digest(b, 1)
    finally:
        a.close()
        b.close()


def _committed(url: str) -> int:
    """How far a projection has committed: the sum of its next offsets (the topics start at 0)."""
    db = open_database(url)
    try:
        with db.transaction() as cur:
            cur.execute("SELECT SUM(next_offset) FROM g1_offsets")
            return int(cur.fetchall()[0][0] or 0)
    finally:
        db.close()


def test_garbage_from_a_vessel_is_dead_lettered_and_a_new_vessel_is_picked_up(
    shore: KafkaCluster, fleet: dict[str, Any]
) -> None:
    bootstrap = shore.bootstrap_servers
    topic = t.on_shore("vessel-9", t.AGGREGATES)  # a vessel the normalizer has never seen
    from fleetedge.runtime.health import create_topic  # noqa: PLC0415

    create_topic(bootstrap, topic, partitions=1, replication_factor=1)
    good = window("vessel-9", "ZZZU0000019", 1)
    impostor = window("vessel-2", "MSCU0000001", 1)
    producer = Producer({"bootstrap.servers": bootstrap})
    bad = [
        b"\x00garbage\xff",
        JSON.encode(impostor),
        b'{"kind": "reefer.window", "schema_version": 1}',
    ]
    for value in bad:
        producer.produce(topic, key=b"k", value=value)
    producer.produce(topic, key=b"k", value=JSON.encode(good))
    assert producer.flush(30) == 0

    def letters() -> list[DeadLetter] | None:
        found = [decode(m.value()) for m in read_topic(bootstrap, t.FLEET_DLQ.name)]
        mine = [d for d in found if isinstance(d, DeadLetter) and d.source_topic == topic]
        return mine if len(mine) >= 3 else None

    dead = wait_until(letters, timeout=60, what="3 dead letters", interval=1)
    assert sorted(d.error for d in dead) == ["DecodeError", "SchemaViolation", "WrongVessel"]
    assert all(d.service == "shore-normalizer" and d.reason for d in dead)
    assert sorted(d.payload for d in dead) == sorted(bad), "each bad record kept as it came"
    windows = read_topic(bootstrap, WINDOWS)
    assert [m.key() for m in windows].count(b"vessel-9/ZZZU0000019") == 1
    assert fleet["normalizer"].alive, "bad input must not stop the normalizer"


def test_a_vessel_topic_left_out_of_the_assignment_is_taken_again(
    shore: KafkaCluster, fleet: dict[str, Any]
) -> None:
    """librdkafka can leave a topic that matches the normalizer's pattern out of its assignment
    for good (shore/assignment.py). Here the whole assignment is dropped, as that leaves it:
    the normalizer's check subscribes again and every vessel topic is held once more. This
    normalizer has a group of its own and produces nothing (it never runs a batch)."""
    normalizer = Normalizer(
        shore.bootstrap_servers,
        group_id=f"assignment-{uuid.uuid4().hex[:6]}",
        transactional_id=f"assignment-{uuid.uuid4().hex[:6]}",
        check_assignment_every=0,
        unassigned_grace=0,
    )
    consumer = normalizer._consumer  # the client whose assignment is checked
    vessel_topics = {t.on_shore(v, t.AGGREGATES) for v in VESSELS}

    def held() -> bool:
        consumer.consume(100, 0.5)  # read and dropped: no transaction, nothing produced
        return vessel_topics <= {tp.topic for tp in consumer.assignment()}

    with normalizer:
        wait_until(held, timeout=60, what="the vessel topics assigned", interval=0.1)
        before = _resubscribed()
        consumer.unassign()
        assert not consumer.assignment()
        normalizer.check_assignment()
        assert _resubscribed() == before + 1
        wait_until(held, timeout=60, what="the vessel topics assigned again", interval=0.1)
        normalizer.check_assignment()
        assert _resubscribed() == before + 1, "subscribed again though all was held"


def _resubscribed() -> float:
    return REGISTRY.get_sample_value("fleetedge_shore_resubscribed_total") or 0.0


def test_postgres_bulk_writes_equal_sqlite_row_for_row(
    shore: KafkaCluster, live_kpis: dict[str, Any], postgres: PostgresServer, tmp_path: Path
) -> None:
    """PostgreSQL writes through COPY and INSERT ... SELECT, SQLite through multi-row INSERTs:
    the same records, duplicates and stale copies included, make the same rows."""
    records = [
        (topic, m.value() or b"")
        for topic in projection_rows.TOPICS
        for m in read_topic(shore.bootstrap_servers, topic)
    ]
    noisy = records + records[::7]
    url = _database_url("postgresql", tmp_path, lambda: postgres)
    dbs = [open_database(f"sqlite:///{tmp_path / 'bulk.db'}"), open_database(url)]
    try:
        for db in dbs:
            ensure_projection(db)
            for i in range(0, len(noisy), 700):
                with db.transaction() as cur:
                    assert projection_rows.write(cur, 1, noisy[i : i + 700]) == 0
        assert digest(dbs[0], 1) == digest(dbs[1], 1)
    finally:
        for db in dbs:
            db.close()


def _partitions(shore: KafkaCluster, topic: str) -> int:
    listed = AdminClient({"bootstrap.servers": shore.bootstrap_servers}).list_topics(timeout=10)
    return len(listed.topics[topic].partitions)
