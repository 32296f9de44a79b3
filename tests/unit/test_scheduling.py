"""The parallel suite's scheduler: whole groups per worker, the longest first, and never two
fleets at once (tests/support/scheduling.py), driven as pytest-xdist drives it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.support.scheduling import (
    LINK,
    SHARED_CLUSTER,
    SHARED_FLEET,
    GroupScheduling,
    group_of,
    rank_of,
)

STORY = "tests/e2e/test_story_demo.py"
SHORE_OUTAGE = "tests/integration/test_shore_outage.py"
FILE_ORDER = [
    *(f"{LINK}test_flow.py::test_{i}" for i in range(2)),
    *(f"{LINK}test_outages.py::test_{i}" for i in range(2)),
    f"{SHORE_OUTAGE}::test_0",
    *(f"tests/browser/test_dashboard.py::test_{i}" for i in range(3)),
    *(f"tests/e2e/test_fleet_vessels.py::test_{i}" for i in range(3)),
    f"{STORY}::test_story",
    *(f"tests/integration/test_edge.py::test_{i}" for i in range(2)),
    *(f"tests/unit/test_rules.py::test_{i}" for i in range(2)),
    "tests/unit/test_unmeasured.py::test_0",
]
COLLECTION = sorted(FILE_ORDER, key=rank_of)  # as tests/conftest.py sorts the collection


class _Worker:
    """What the scheduler sees of an xdist worker: the tests it was sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def _scheduler(workers: list[_Worker]) -> GroupScheduling:
    option = SimpleNamespace(tx=[f"{len(workers)}*popen"], loadscopereorder=True)
    config: Any = SimpleNamespace(option=option, getvalue=lambda name: getattr(option, name))
    sched = GroupScheduling(config)
    for worker in workers:
        sched.add_node(worker)
        sched.add_node_collection(worker, COLLECTION)
    sched.schedule()
    return sched


def _groups(worker: _Worker, start: int = 0) -> list[str]:
    seen: list[str] = []
    for index in worker.sent[start:]:
        group = group_of(COLLECTION[index])
        if group not in seen:
            seen.append(group)
    return seen


def _finish(sched: GroupScheduling, worker: _Worker, group: str) -> None:
    for index in list(worker.sent):
        if group_of(COLLECTION[index]) == group:
            sched.mark_test_complete(worker, index)


def test_the_shared_fleet_modules_form_one_group_and_the_story_its_own() -> None:
    assert group_of("tests/browser/test_dashboard.py::test_map") == SHARED_FLEET
    assert group_of("tests/e2e/test_fleet_vessels.py::test_join") == SHARED_FLEET
    assert group_of(f"{STORY}::test_story") == STORY
    assert group_of("tests/integration/test_edge.py::test_x") == SHARED_CLUSTER
    assert group_of("tests/integration/test_replication.py::test_y") == SHARED_CLUSTER
    assert group_of("tests/integration/test_shore.py::test_z") == "tests/integration/test_shore.py"


def test_the_groups_go_longest_first_the_story_after_the_shared_fleet_the_unmeasured_last() -> None:
    order = list(dict.fromkeys(group_of(nodeid) for nodeid in COLLECTION))
    assert order == [
        LINK,
        SHARED_FLEET,
        STORY,
        SHARED_CLUSTER,
        SHORE_OUTAGE,
        "tests/unit/test_rules.py",
        "tests/unit/test_unmeasured.py",
    ]


def test_a_third_worker_waits_until_no_fleet_is_left_and_the_story_follows_the_fleet() -> None:
    a, b, c = _Worker("a"), _Worker("b"), _Worker("c")
    sched = _scheduler([a, b, c])
    # The longest first: the link's package, then the shared fleet. The third worker takes
    # only the group that mostly waits, with the shortest group after it (a next test for
    # its last one), then waits.
    assert _groups(a) == [LINK]
    assert _groups(b) == [SHARED_FLEET]
    assert _groups(c) == [SHORE_OUTAGE, "tests/unit/test_unmeasured.py"]
    _finish(sched, c, SHORE_OUTAGE)
    assert len(_groups(c)) == 2
    # The shared fleet's worker gets the story before its own last test, which needs a next
    # test to run (xdist holds a worker's last test until it has more work or is told to stop).
    fleet_tests = [i for i in b.sent if group_of(COLLECTION[i]) == SHARED_FLEET]
    for index in fleet_tests[:-1]:
        sched.mark_test_complete(b, index)
    assert STORY in _groups(b)
    assert len(_groups(c)) == 2  # a fleet still runs
    assert not c.shutting_down
    assert STORY not in _groups(a) + _groups(c)
    assert SHARED_FLEET not in _groups(c)


def test_on_two_workers_the_story_follows_the_shared_fleet_on_its_worker() -> None:
    a, b = _Worker("a"), _Worker("b")
    sched = _scheduler([a, b])
    assert _groups(a) == [LINK]
    assert _groups(b) == [SHARED_FLEET]
    # The link's worker nears its end first: it gets the next group the story may not be.
    link_tests = [i for i in a.sent if group_of(COLLECTION[i]) == LINK]
    for index in link_tests[:-1]:
        sched.mark_test_complete(a, index)
    assert _groups(a) == [LINK, SHARED_CLUSTER]
    # The shared fleet's worker, nearing its end, gets the story next.
    fleet_tests = [i for i in b.sent if group_of(COLLECTION[i]) == SHARED_FLEET]
    for index in fleet_tests[:-1]:
        sched.mark_test_complete(b, index)
    assert _groups(b)[:2] == [SHARED_FLEET, STORY]


def test_each_group_is_sent_whole_to_one_worker() -> None:
    workers = [_Worker("a"), _Worker("b")]
    sched = _scheduler(workers)
    done: set[int] = set()
    while len(done) < len(COLLECTION):  # each worker runs what it was sent, in turn
        progressed = False
        for worker in workers:
            for index in [i for i in worker.sent if i not in done]:
                done.add(index)
                sched.mark_test_complete(worker, index)
                progressed = True
        assert progressed, f"work left unsent: {sched.workqueue}"
    owners: dict[str, set[str]] = {}
    for worker in workers:
        for index in worker.sent:
            owners.setdefault(group_of(COLLECTION[index]), set()).add(worker.name)
    assert all(len(names) == 1 for names in owners.values()), owners
    assert sorted(i for w in workers for i in w.sent) == list(range(len(COLLECTION)))
