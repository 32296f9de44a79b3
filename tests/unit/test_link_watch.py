"""The link service's judgements, against a recording stand-in for Connect's REST API: the bulk
connector is held only when the link is down, not when it is full; a connector Connect lists
without its status or its tasks is restarted in a form that needs no status, with a back-off.
(What Connect does with those requests is tested for real in tests/integration/link.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pytest

from fleetedge.link import supervisor as module
from fleetedge.link.connectors import connector_name
from fleetedge.link.health import LinkHealth, PartitionBacklog
from fleetedge.link.mirror import BULK
from fleetedge.link.rest import ConnectorState, ConnectRest, TaskState
from fleetedge.link.supervisor import LinkSupervisor
from fleetedge.link.vessels import VesselLink

VESSEL = "vessel-9"
BULK_NAME = connector_name(VESSEL, BULK)


class RecordingRest(ConnectRest):
    """Connect's API as far as the hold goes: what was asked, nothing sent."""

    def __init__(self, tasks: list[int] | None = None) -> None:
        super().__init__(["http://127.0.0.1:1"])
        self.asked: list[str] = []
        self.tasks = tasks or []

    def pause(self, name: str) -> None:
        self.asked.append(f"pause {name}")

    def resume(self, name: str) -> None:
        self.asked.append(f"resume {name}")

    def put_config(self, name: str, config: Mapping[str, str]) -> bool:  # noqa: ARG002
        return False  # there, unchanged

    def task_ids(self, name: str) -> list[int]:  # noqa: ARG002
        return self.tasks

    def restart_connector(self, name: str) -> None:
        self.asked.append(f"restart {name}")

    def restart_task(self, name: str, task: int) -> None:
        self.asked.append(f"restart {name} task {task}")


class Vessel:
    """What the measure sees: 10,000 windows aboard, ``mirrored`` of them ashore."""

    def __init__(self) -> None:
        self.mirrored = 0

    def measure(self, *_args: object) -> LinkHealth:
        part = PartitionBacklog("reefer.aggregates", 0, 0, 10_000, self.mirrored,
                                10_000 - self.mirrored, 0, int(time.time() * 1000))  # fmt: skip
        return LinkHealth(VESSEL, int(time.time() * 1000), True, part.backlog, partitions=[part])


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> tuple[LinkSupervisor, VesselLink, Vessel]:
    vessel = Vessel()
    monkeypatch.setattr(module, "measure", vessel.measure)
    link = VesselLink(VESSEL, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", {BULK_NAME: {}}, None)
    task = TaskState(0, "RUNNING", "w1")
    link.states[BULK_NAME] = ConnectorState(BULK_NAME, "RUNNING", "w1", (task,))
    return LinkSupervisor([link], RecordingRest()), link, vessel


def test_a_full_link_whose_probe_times_out_keeps_the_bulk_flowing(
    rig: tuple[LinkSupervisor, VesselLink, Vessel],
) -> None:
    supervisor, link, vessel = rig
    rest = supervisor.connect
    assert isinstance(rest, RecordingRest)
    vessel.mirrored = 100
    supervisor._measure(link, answers=True)  # the probe answers
    vessel.mirrored = 700
    supervisor._measure(link, answers=False)  # it times out, and 600 windows crossed meanwhile
    assert rest.asked == []
    supervisor._measure(link, answers=False)  # it times out, and nothing crossed: the link is down
    assert rest.asked == [f"pause {BULK_NAME}"]


def _reconcile_over(
    monkeypatch: pytest.MonkeyPatch, rest: RecordingRest, state: ConnectorState | None
) -> tuple[LinkSupervisor, VesselLink, list[float]]:
    """A supervisor that sees ``state`` for the bulk connector; the clock is the list's last."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[-1])  # the supervisor's clock
    link = VesselLink(VESSEL, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", {BULK_NAME: {}}, None)
    supervisor = LinkSupervisor([link], rest, status_missing_after=90, max_backoff=600)
    states = {} if state is None else {BULK_NAME: state}
    monkeypatch.setattr(rest, "connectors", lambda: states)
    return supervisor, link, clock


def test_a_connector_listed_without_its_status_is_restarted_after_a_while_then_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rest = RecordingRest()
    supervisor, link, clock = _reconcile_over(monkeypatch, rest, None)
    asked_at = []
    for second in range(0, 400, 5):
        clock.append(1000.0 + second)
        before = len(rest.asked)
        supervisor._reconcile(link, rest.connectors())
        if len(rest.asked) > before:
            asked_at.append(second)
    # Not while a worker may still be starting it (90 s), then after 180 s more: the wait doubles.
    assert asked_at == [90, 270]
    assert rest.asked == [f"restart {BULK_NAME}"] * 2
    assert [r for _, _, r in supervisor.events] == ["status-missing"] * 2


@pytest.mark.parametrize(
    ("tasks", "asked"),
    [
        ([0], f"restart {BULK_NAME} task 0"),
        # It started while its vessel was away: no topics, so no task in its config either.
        ([], f"restart {BULK_NAME}"),
    ],
)
def test_a_running_connector_listed_without_tasks_has_them_restarted(
    monkeypatch: pytest.MonkeyPatch, tasks: list[int], asked: str
) -> None:
    rest = RecordingRest(tasks=tasks)
    state = ConnectorState(BULK_NAME, "RUNNING", "w1", ())
    supervisor, link, clock = _reconcile_over(monkeypatch, rest, state)
    supervisor._reconcile(link, rest.connectors())
    clock.append(1095.0)
    supervisor._reconcile(link, rest.connectors())
    assert rest.asked == [asked]
    assert [r for _, _, r in supervisor.events] == ["tasks-missing"]


def test_a_connector_listed_whole_again_clears_its_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    rest = RecordingRest()
    supervisor, link, clock = _reconcile_over(monkeypatch, rest, None)
    supervisor._reconcile(link, {})
    clock.append(1080.0)
    task = TaskState(0, "RUNNING", "w1")
    supervisor._reconcile(link, {BULK_NAME: ConnectorState(BULK_NAME, "RUNNING", "w1", (task,))})
    clock.append(1100.0)
    supervisor._reconcile(link, {})  # missing again: a new 90 s start
    assert rest.asked == []


def _three_links() -> list[VesselLink]:
    return [
        VesselLink(f"vessel-{n}", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", {}, None)
        for n in (1, 2, 3)
    ]


def test_every_vessel_is_looked_at_in_the_same_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The looks of a round run side by side: each look here waits for all three at a
    barrier, which only looks running at once can pass."""
    barrier = threading.Barrier(3, timeout=10)

    def look(link: VesselLink) -> bool:
        barrier.wait()
        return link.vessel != "vessel-2"

    monkeypatch.setattr(LinkSupervisor, "_looks", staticmethod(look))
    monkeypatch.setattr(module, "LOOK_WAIT_S", 30.0)
    links = _three_links()
    supervisor = LinkSupervisor(links, RecordingRest())
    assert supervisor._look_all(links) == [True, False, True]
    supervisor.close(stop_processes=False)


def test_a_cut_vessels_slow_look_holds_back_no_other_vessel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cut link's look takes its whole timeout: the round goes on without it (None: not
    measured this round) and a later round reads its answer, no second look started."""
    release = threading.Event()
    looked: list[str] = []

    def look(link: VesselLink) -> bool:
        looked.append(link.vessel)
        if link.vessel == "vessel-2":
            release.wait(30)
            return False
        return True

    monkeypatch.setattr(LinkSupervisor, "_looks", staticmethod(look))
    monkeypatch.setattr(module, "LOOK_WAIT_S", 2.0)
    links = _three_links()
    supervisor = LinkSupervisor(links, RecordingRest())
    assert supervisor._look_all(links) == [True, None, True]
    release.set()
    slow = links[1].look
    assert slow is not None
    slow.result(timeout=30)
    monkeypatch.setattr(module, "LOOK_WAIT_S", 30.0)
    answers = supervisor._look_all(links)
    assert answers == [True, False, True]
    assert looked.count("vessel-2") == 1, looked
    supervisor.close(stop_processes=False)
