"""A Connect worker killed, or a task failed: Connect and the link service carry on, nothing
lost or doubled."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from fleetedge.events import topics
from fleetedge.link.connect import STATUS_TOPIC, ConnectWorker
from fleetedge.link.connectors import connector_name
from fleetedge.link.exceptions import ConnectUnavailable
from fleetedge.link.mirror import BULK
from fleetedge.link.rest import ConnectRest
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import LinkEnv, alter, both_running, running_tasks
from tests.support.traffic import arrived_once_in_order, shore_sequences

pytestmark = pytest.mark.kafka


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
    since, seen = time.monotonic(), running_tasks(env)

    def quiet() -> bool:
        nonlocal since, seen
        tasks = running_tasks(env)
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
        tasks = wait_until(lambda: both_running(linked), timeout=120, what="both tasks")
        busy = next(iter(tasks.values()))
        victim = next(w for w in linked.workers if busy.endswith(f":{w.rest_port}"))
        victim.kill()
        # Connect, not the test, moves its tasks: onto the surviving worker.
        moved = wait_until(
            lambda: both_running(linked, away_from=busy),  # noqa: B023
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
    alter(admin, resource, {"max.message.bytes": "200"})
    try:
        traffic.one_alert()

        def failed_and_restarted() -> bool:
            return ("priority", "task-failed") in [
                (f, r) for _, f, r in linked.supervisor.events[seen:]
            ]

        wait_until(failed_and_restarted, timeout=180, what="a task-failed restart", interval=1)
    finally:
        alter(admin, resource, {"max.message.bytes": "1048588"})
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert dups == {topics.ALERTS.name: 0}


def _listed(env: LinkEnv, name: str) -> bool | None:
    """Whether Connect lists the connector RUNNING with all its tasks (False: not listed at
    all; None: Connect busy, or listed in another state)."""
    try:
        state = env.connect.connectors().get(name)
    except ConnectUnavailable:
        return None
    if state is None:
        return False
    running = state.state == "RUNNING" and all(t.state == "RUNNING" for t in state.tasks)
    return (running and bool(state.tasks)) or None


def test_a_connector_whose_status_connect_lost_is_restarted_and_nothing_is_lost(
    linked: LinkEnv,
) -> None:
    """Connect can drop a connector's status write (its worker does not re-send one that
    failed while the group's generation moved); the connector then shows nowhere in
    ``GET /connectors?expand=status`` until its next state change. A tombstone on the status
    topic makes every worker forget the status for real, its tasks' statuses with it: the link
    service restarts the connector, then (listed RUNNING without tasks) it and its tasks."""
    name = connector_name(linked.name, BULK)
    wait_until(lambda: both_running(linked), timeout=120, what="both tasks")
    seen = len(linked.supervisor.events)
    traffic = linked.traffic("STLU", rate=40).start()
    try:
        producer = Producer({"bootstrap.servers": linked.shore.bootstrap_servers, "acks": "all"})
        producer.produce(STATUS_TOPIC, value=None, key=f"status-connector-{name}".encode())
        producer.flush(30)
        wait_until(lambda: _listed(linked, name) is False, timeout=60,
                   what="Connect without the bulk connector's status", interval=0.5)  # fmt: skip

        def restarted() -> bool:
            asked = [(f, r) for _, f, r in linked.supervisor.events[seen:]]
            return {("bulk", "status-missing"), ("bulk", "tasks-missing")} <= set(asked)

        wait_until(restarted, timeout=180, what="the two restarts", interval=1)
        wait_until(lambda: _listed(linked, name), timeout=120,
                   what="the bulk connector listed RUNNING, with its task", interval=1)  # fmt: skip
        before = traffic.acked_count
        wait_until(lambda: traffic.acked_count >= before + 400, timeout=120,
                   what="traffic after the restart")  # fmt: skip
    finally:
        traffic.stop()
    dups = arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked)
    assert sum(dups.values()) == 0
