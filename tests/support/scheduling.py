"""How `make test` shares the suite out among parallel workers (pytest-xdist).

Most of a Kafka scenario's time is waiting (an outage held for minutes, a restart awaited), so
the waits of several scenarios overlap well even on 2 cores. A group runs whole on one worker:
a test module, so its module-scoped clusters start once; every test on the one shared fleet
(the browser and end-to-end modules), so that fleet starts once; or every module on the
shared 3-node cluster, so that one cluster serves them (not one per worker, idle until the
session ends).

A whole fleet (two vessels, the link, the shore: about 0.9 of a core while it runs) is the
heaviest thing a test starts, so at most one runs at a time: a worker is not given a fleet's
group while another fleet's group is unfinished. The groups go longest first (their measured
wall times, below), so that the last groups are short and the workers end together; groups not
measured yet follow in file order. The one exception: the demo's fleet follows the shared
fleet, on its worker. Behind other groups it had started while the link package's long waits
(the ten cut-and-restore cycles, the shaped link) ran on the other worker beside the shared
cluster's restarts, and the machine idled at half its CPU for seven minutes.

`make test` runs three workers. While the fleets run, two workers keep both cores busy, and a
third group beside them only slowed all three; so the third worker is held until no fleet's
group is queued or running, and meanwhile takes only the groups that mostly wait (WAITING).
After the fleets, the groups left mostly wait too, and three of them fit where two left the
machine half idle for ten minutes.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

SHARED_FLEET = "running-fleet"
# The modules whose tests use the session's shared 3-node cluster (the `cluster` fixture,
# checked at collection): one group, so one cluster serves them all, stopped after the last.
SHARED_CLUSTER = "shared-cluster"
SHARED_CLUSTER_MODULES = (
    "tests/integration/test_edge.py",
    "tests/integration/test_replication.py",
    "tests/integration/test_simulate.py",
    "tests/integration/test_commands_aboard.py",
    "tests/integration/test_mqtt_ingest.py",
    "tests/integration/test_link_health.py",
)
# The modules whose tests use the `running_fleet` fixture (checked at collection).
SHARED_FLEET_DIRS = ("tests/browser/", "tests/e2e/")
OWN_FLEET = ("tests/e2e/test_story_demo.py",)  # the demo starts a fleet of its own
FLEETS = frozenset({SHARED_FLEET, *OWN_FLEET})  # groups that run a whole fleet
# The link scenarios' modules share one package-scoped world (tests/integration/link/conftest.py).
LINK = "tests/integration/link/"
# Wall seconds per group, from a fresh clone's `make test` (its "time per
# module" summary; test-artifacts/durations.json has every test's). Only the order matters:
# update them when a group's time moves by a minute or more.
MEASURED_S = {
    LINK: 1318,
    SHARED_FLEET: 959,
    SHARED_CLUSTER: 324,
    "tests/integration/test_shore_outage.py": 300,
    "tests/integration/test_roles.py": 257,
    "tests/integration/test_analytics.py": 238,
    "tests/e2e/test_story_demo.py": 233,
    "tests/integration/test_shore.py": 104,
    "tests/integration/test_backfill.py": 77,
    "tests/integration/test_scale.py": 73,
    "tests/integration/test_security.py": 54,
    "tests/integration/test_cli.py": 47,
    "tests/integration/test_reports.py": 26,
    "tests/unit/test_supervisor.py": 23,
    "tests/unit/test_rules.py": 10,
}


def group_of(nodeid: str) -> str:
    """The group a test runs in: its module, the link package, the shared fleet's or the
    shared cluster's."""
    module = nodeid.split("::", 1)[0]
    if module.startswith(SHARED_FLEET_DIRS) and module not in OWN_FLEET:
        return SHARED_FLEET
    if module in SHARED_CLUSTER_MODULES:
        return SHARED_CLUSTER
    if module.startswith(LINK):
        return LINK
    return module


def rank_of(nodeid: str) -> float:
    """A sort key: the longer a group was measured, the earlier it goes; the demo's fleet
    right after the shared fleet."""
    group = group_of(nodeid)
    if group in OWN_FLEET:
        return -MEASURED_S[SHARED_FLEET] + 0.5
    return -MEASURED_S.get(group, 0)


# Workers that take groups from the start; any further one waits until no fleet is left,
# taking meanwhile only the groups that are mostly a wait (minutes of an outage, little CPU).
BUSY_WORKERS = 2
WAITING = ("tests/integration/test_shore_outage.py",)


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with a scope per group, the collection order kept, and one
    fleet at a time. A worker gets its next group when it has at most two tests left. A
    third worker (and any further) is held until no fleet's group is queued or running,
    taking meanwhile only the groups that mostly wait."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)

    def _assign_work_unit(self, node: WorkerController) -> None:
        """The first group in the queue that may start on ``node``. A fleet's group goes to
        any worker while no fleet's group is unfinished, else only to the worker running that
        one (it runs them one after the other). A worker offered nothing but fleets' groups
        it may not take is shut down: it runs its last tests and leaves."""
        if self.nodes.index(node) >= BUSY_WORKERS and self._fleets_left():
            self._assign_waiting(node)  # else held: asked again each time a test completes
            return
        fleet_elsewhere = any(
            group in FLEETS and not all(done.values())
            for other, groups in self.assigned_work.items()
            if other is not node
            for group, done in groups.items()
        )
        for group in self.workqueue:
            if group not in FLEETS or not fleet_elsewhere:
                self.workqueue.move_to_end(group, last=False)
                super()._assign_work_unit(node)
                return
        node.shutdown()

    def _assign_waiting(self, node: WorkerController) -> None:
        """A held worker's work while the fleets run: a group that mostly waits, with the
        queue's last (shortest) group after it, since xdist runs a worker's last test only
        once it has a next one or is told to stop."""
        waiting = next((group for group in self.workqueue if group in WAITING), None)
        if waiting is None:
            return
        tail = next(
            (g for g in reversed(self.workqueue) if g not in FLEETS and g not in WAITING), None
        )
        for group in (tail, waiting):
            if group is not None:
                self.workqueue.move_to_end(group, last=False)
        super()._assign_work_unit(node)
        if tail is not None:
            super()._assign_work_unit(node)

    def _fleets_left(self) -> bool:
        """A fleet's group still queued, or running."""
        return any(group in FLEETS for group in self.workqueue) or any(
            group in FLEETS and not all(done.values())
            for groups in self.assigned_work.values()
            for group, done in groups.items()
        )

    def mark_test_complete(
        self, node: WorkerController, item_index: int, duration: float = 0
    ) -> None:
        super().mark_test_complete(node, item_index, duration)
        for other in self.nodes:  # a fleet's group may have just finished: the others ask
            if other is not node:
                self._reschedule(other)
