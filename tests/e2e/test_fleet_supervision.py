"""The supervisor of `fleet up`: every kind of service SIGKILLed once comes back, a killed
broker too, and the completeness check still finds nothing lost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaJars, KafkaRuntime, find_java
from tests.support.leaders import move_leaders
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka


@pytest.mark.slow
def test_every_kind_of_service_killed_once_comes_back_and_nothing_is_lost(
    running_fleet: RunningFleet,
) -> None:
    snapshot = running_fleet.snapshot()
    kinds: dict[str, str] = {}
    for service in snapshot.services:
        kinds.setdefault(service.kind, service.name)
    assert set(kinds) == {
        "simulator", "edge", "resend", "commands", "connect", "link", "normalizer", "analytics",
        "projector", "backfill", "api",
    }  # fmt: skip
    before = {s.name: (s.pid, s.restarts) for s in snapshot.services}

    def back(name: str) -> bool:
        now = next(s for s in running_fleet.snapshot().services if s.name == name)
        return (
            now.phase == "healthy"
            and now.pid != before[name][0]
            and now.restarts == before[name][1] + 1
        )

    # Two services aboard or on the link and two ashore die together in each round: they
    # share no process, and the flow has to come through all four restarts at once.
    ashore = ("normalizer", "analytics", "projector", "backfill", "api")
    aboard = [kinds[k] for k in kinds if k not in ashore]
    on_shore = [kinds[k] for k in ashore]
    rounds = [
        [*aboard[i : i + 2], *on_shore[i : i + 2]]
        for i in range(0, max(len(aboard), len(on_shore)), 2)
    ]
    for names in rounds:
        # Before each kill, the flow ashore has moved on since the last restart: a kill that
        # lands before the restarted service did any work proves nothing.
        windows = running_fleet.get("/api/completeness?limit=1")["windows"]
        wait_for(
            lambda: running_fleet.get("/api/completeness?limit=1")["windows"] > windows,  # noqa: B023
            180,
            f"windows ashore before {' and '.join(names)} are killed",
        )
        for name in names:
            out = running_fleet.fleet("chaos", "kill-service", name)
            assert f"{name} (pid {before[name][0]}) killed" in out, name
        for name in names:
            wait_for(lambda: back(name), 120, f"{name} restarted and healthy")  # noqa: B023

    vessel = running_fleet.plan.vessels[0]
    running_fleet.fleet("chaos", "kill-broker", vessel, "2")

    def broker_back() -> bool:
        nodes = running_fleet.snapshot().nodes
        node = next(n for n in nodes if n.cluster == vessel and n.node == 2)
        return node.alive and node.restarts == 1

    wait_for(broker_back, 240, f"{vessel} broker 2 restarted by the supervisor")

    report = running_fleet.fleet("check", "--timeout", "300", timeout=600)
    assert report.rstrip().endswith("nothing lost"), report
    assert re.search(r"readings ashore, 0 missing in 0 containers$", report, re.M), report
    # Exactly-once: nothing written twice aboard, nothing the uplink added ashore.
    twice = re.findall(r"twice: (\d+) aboard, (\d+) by the link", report)
    assert twice, report
    assert all(t == ("0", "0") for t in twice), report
    processes = running_fleet.get("/api/processes")
    assert processes["supervised"] is True
    assert all(s["phase"] == "healthy" for s in processes["services"])
    restarts = {s["name"]: s["restarts"] for s in processes["services"]}
    assert all(restarts[name] >= 1 for name in kinds.values())


def test_leadership_moved_five_times_under_a_vessel_and_the_shore_stops_no_service(
    running_fleet: RunningFleet, tmp_path: Path
) -> None:
    status = json.loads(running_fleet.fleet("status", "--json"))
    bootstrap = {c["name"]: c["bootstrap_servers"] for c in status["clusters"]}
    clusters = (running_fleet.plan.vessels[0], running_fleet.plan.shore)
    settings = running_fleet.settings
    runtime = KafkaRuntime(find_java(settings.java), KafkaJars(settings.cache_dir).require())
    before = {s.name: (s.pid, s.restarts) for s in running_fleet.snapshot().services}

    def windows() -> int:
        found: int = running_fleet.get("/api/completeness?limit=1")["windows"]
        return found

    for round_ in range(5):
        seen = windows()
        for name in clusters:
            moved = move_leaders(runtime, bootstrap[name], tmp_path / f"{name}-{round_}")
            assert moved > 0
        # The flow goes on through the new leaders and coordinators.
        wait_for(lambda: windows() > seen, 180, f"round {round_}: windows ashore")  # noqa: B023

    after = {s.name: (s.pid, s.restarts) for s in running_fleet.snapshot().services}
    exited = [name for name, seen in before.items() if after.get(name) != seen]
    last_exit = {s.name: s.last_exit for s in running_fleet.snapshot().services}
    assert not exited, "a service exited while leadership moved:\n" + "\n".join(
        f"--- {name} (pid, restarts) {before[name]} -> {after.get(name)}, "
        f"last exit {last_exit[name]}\n{running_fleet.log_tail(name)}"
        for name in exited
    )
    report = running_fleet.fleet("check", "--timeout", "300", timeout=600)
    assert report.rstrip().endswith("nothing lost"), report
