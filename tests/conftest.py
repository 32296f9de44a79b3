"""Fixtures: the real Kafka runtime, session-scoped clusters on free ports, leak checks."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from xdist.remote import Producer

from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java
from fleetedge.runtime.jvm import find_processes
from fleetedge.settings import RuntimeSettings
from tests.support.clusters import cluster_factory
from tests.support.machine import SpeedLog
from tests.support.running_fleet import ARTIFACTS, RunningFleet, start_fleet
from tests.support.scheduling import (
    SHARED_CLUSTER,
    SHARED_FLEET,
    GroupScheduling,
    group_of,
    rank_of,
)

SPEED = pytest.StashKey[SpeedLog]()


def pytest_configure(config: pytest.Config) -> None:
    """The controller samples the machine's speed through the run (tests/support/machine.py);
    a worker does not, so that the samples are one process's, at one pace."""
    if not hasattr(config, "workerinput"):
        config.stash[SPEED] = SpeedLog().start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if SPEED in config.stash:
        config.stash[SPEED].stop()


@pytest.fixture(scope="session")
def settings() -> RuntimeSettings:
    return RuntimeSettings()


@pytest.fixture(scope="session")
def runtime(settings: RuntimeSettings) -> KafkaRuntime:
    """Java and the fetched jars; a missing piece fails the run (`make test` fetches them)."""
    return KafkaRuntime(
        java=find_java(settings.java), jars=KafkaJars(settings.cache_dir).require(), heap_mb=384
    )


@pytest.fixture(scope="session")
def fleet_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A FleetEdge home private to this test run; no JVM may outlive the run."""
    home = tmp_path_factory.mktemp("fleet-home")
    yield home
    leaked = find_processes(home)
    for pid in leaked:  # do not leave them running even when failing the run
        os.kill(pid, signal.SIGKILL)
    assert not leaked, f"Kafka processes left running after the tests: {leaked}"


@pytest.fixture(scope="module")
def make_cluster(fleet_home: Path, runtime: KafkaRuntime) -> Iterator[Callable[..., KafkaCluster]]:
    """Clusters of one module: downed at the module's end, so idle brokers do not pile up."""
    with cluster_factory(fleet_home, runtime) as make:
        yield make


@pytest.fixture(scope="session")
def shared_cluster(fleet_home: Path, runtime: KafkaRuntime) -> Iterator[KafkaCluster]:
    """One 3-node cluster shared by the tests that restore it afterwards."""
    with cluster_factory(fleet_home, runtime) as make:
        yield make()


@pytest.fixture
def cluster(shared_cluster: KafkaCluster) -> Iterator[KafkaCluster]:
    """The shared cluster, whole and in sync before and after the test (restarts what it broke,
    and starts it again if its group's end stopped it)."""
    if not all(shared_cluster.is_alive(node) for node in shared_cluster.node_ids):
        shared_cluster.up()
    shared_cluster.wait_in_sync(timeout=180)
    yield shared_cluster
    for node_id in shared_cluster.node_ids:
        if not shared_cluster.is_alive(node_id):
            shared_cluster.start_node(node_id)
    shared_cluster.wait_in_sync(timeout=180)


@pytest.fixture
def topic_name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def running_fleet(
    tmp_path_factory: pytest.TempPathFactory, settings: RuntimeSettings
) -> Iterator[RunningFleet]:
    """Two vessels, the link, the shore and the API, started by `fleet up --detach` once for
    the browser and e2e tests (one worker runs them all: tests/support/scheduling.py)."""
    fleet = start_fleet(
        tmp_path_factory.mktemp("whole-fleet"),
        settings,
        # 120x simulated time: the scripted hours of the e2e tests pass in half the wall time.
        # One analytics worker: the demo's fleet (test_story_demo.py) and test_analytics.py run
        # two and more; here a second was the shore's busiest client, fetching every 100 ms.
        *("--vessels", "2", "--containers", "60", "--speedup", "120"),
        *("--analytics-workers", "1"),
    )
    yield fleet
    fleet.stop()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> GroupScheduling:
    """`make test`'s workers get whole groups (tests/support/scheduling.py)."""
    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest groups first; and a test on the shared fleet must be in its group."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "running_fleet" in fixtures:
            assert group_of(item.nodeid) == SHARED_FLEET, (
                f"{item.nodeid} uses the shared fleet: list its module in SHARED_FLEET_DIRS"
            )
        if "cluster" in fixtures:
            assert group_of(item.nodeid) == SHARED_CLUSTER, (
                f"{item.nodeid} uses the shared cluster: list it in SHARED_CLUSTER_MODULES"
            )
    items.sort(key=lambda item: rank_of(item.nodeid))  # stable: file order kept within


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """The shared fleet and the shared cluster stop after the last test of their group, not at
    the end of the session: their worker goes on with other groups, which should not share 2
    cores with an idle fleet or cluster."""
    used = getattr(item, "funcargs", {})
    group = group_of(item.nodeid)
    last = nextitem is None or group_of(nextitem.nodeid) != group
    yield
    if not last:
        return
    fleet, cluster = used.get("running_fleet"), used.get("cluster")
    if isinstance(fleet, RunningFleet):
        fleet.stop()
    if isinstance(cluster, KafkaCluster) and group == SHARED_CLUSTER:
        cluster.down()  # not purged: a later test that asks for it starts it again


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Wall time per test module (set-up and tear-down included): where the suite's time goes.
    Every test's time goes to test-artifacts/durations.json (scheduling.MEASURED_S's source),
    and when and where it ran to test-artifacts/timeline.json (what ran beside what)."""
    spent: dict[str, float] = {}
    per_test: dict[str, float] = {}
    spans: dict[str, tuple[str, float, float]] = {}  # nodeid: (worker, start, stop)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                module = report.nodeid.split("::", 1)[0]
                spent[module] = spent.get(module, 0.0) + report.duration
                per_test[report.nodeid] = per_test.get(report.nodeid, 0.0) + report.duration
                node = getattr(report, "node", None)  # xdist's worker, on the controller
                worker = node.gateway.id if node is not None else "main"
                _, start, stop = spans.get(report.nodeid, (worker, report.start, report.stop))
                spans[report.nodeid] = (worker, min(start, report.start), max(stop, report.stop))
    if not spent:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    speed = terminalreporter.config.stash.get(SPEED, None)
    if speed is not None:
        (ARTIFACTS / "machine.json").write_text(json.dumps(speed.samples))
        terminalreporter.write_line(f"machine: {speed.summary()}")
    ordered = sorted(per_test.items(), key=lambda item: -item[1])
    (ARTIFACTS / "durations.json").write_text(
        json.dumps({nodeid: round(seconds, 1) for nodeid, seconds in ordered}, indent=1)
    )
    began = min(start for _, start, _ in spans.values())
    timeline = sorted(
        (worker, round(start - began, 1), round(stop - began, 1), nodeid)
        for nodeid, (worker, start, stop) in spans.items()
    )
    rows = ",\n".join(json.dumps(row) for row in timeline)  # a test a line
    (ARTIFACTS / "timeline.json").write_text(f"[\n{rows}\n]\n")
    terminalreporter.section("time per module")
    for module, seconds in sorted(spent.items(), key=lambda item: -item[1])[:25]:
        terminalreporter.write_line(f"{seconds:8.1f}s  {module}")
