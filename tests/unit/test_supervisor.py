"""The process supervisor with real processes (no Kafka): a crashing service is restarted with
a growing backoff; a killed one comes back healthy with a new pid; stop leaves nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from fleetedge.orchestration.spec import ServiceSpec
from fleetedge.orchestration.state import Snapshot
from fleetedge.orchestration.supervisor import ProcessSupervisor
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.retry import Backoff


def test_backoff_doubles_while_a_service_dies_young_and_resets_after() -> None:
    b = Backoff(initial=1, maximum=8, healthy_after=30)
    delays = [b.next(0, 0)]
    for _ in range(5):
        delays.append(b.next(delays[-1], 0.5))
    assert delays == [1, 2, 4, 8, 8, 8]
    assert b.next(8, 31) == 1


def _run(sup: ProcessSupervisor, until, timeout: float, began: list[float] | None = None) -> None:
    """Step ``sup`` until ``until()``; ``began[0]`` is when the current step began."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, sup.snapshot().model_dump()
        if began is not None:
            began[0] = time.monotonic()
        sup.step()
        time.sleep(0.1)


def test_a_crashing_service_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    spec = ServiceSpec(name="broken", kind="test", args=("no-such-command",))
    exits: list[float] = []
    restarts: list[float] = []
    began = [0.0]

    def on_event(message: str) -> None:
        if "restarted" in message:
            restarts.append(time.monotonic())
        elif "exited" in message:
            # The supervisor's clock for the exit is read as its step begins, and the restart
            # is due a backoff after it; this callback comes later (later still on a loaded
            # machine: 70 ms once), so its own time would shorten the wait it measures.
            exits.append(began[0])

    sup = ProcessSupervisor(
        [spec],
        logs=tmp_path / "logs",
        snapshot=tmp_path / "services.json",
        backoff=Backoff(initial=0.5, maximum=4, healthy_after=30),
        on_event=on_event,
    )
    sup.start()
    _run(sup, lambda: len(restarts) >= 3, 60, began)
    snap = Snapshot.load(tmp_path / "services.json")
    sup.stop()
    # From each exit to the restart after it: the backoff, doubled each time (the process's
    # own short life, longer on a loaded machine, is not part of it).
    waits = [restart - exit_ for exit_, restart in zip(exits, restarts, strict=False)][:3]
    assert all(w >= b for w, b in zip(waits, (0.5, 1.0, 2.0), strict=True)), waits
    assert waits[2] > waits[0], f"the backoff did not grow: {waits}"
    assert snap is not None
    (state,) = snap.services
    assert state.restarts >= 3
    assert state.last_exit == 2, "typer's usage error"
    assert "No such command" in (tmp_path / "logs" / "broken.log").read_text()


def test_a_killed_service_comes_back_healthy_and_stop_leaves_nothing(tmp_path: Path) -> None:
    port = free_ports(1)[0]
    spec = ServiceSpec(
        name="api",
        kind="api",
        args=(
            "api",
            "serve",
            "--bootstrap",
            "127.0.0.1:1",
            "--database",
            f"sqlite:///{tmp_path / 'none.db'}",
            "--port",
            str(port),
        ),
        health_url=f"http://127.0.0.1:{port}/api/health",
    )
    env = {"FLEET_HOME": str(tmp_path / "home"), "FLEET_API_TOKEN": "t"}
    sup = ProcessSupervisor(
        [spec], logs=tmp_path / "logs", snapshot=tmp_path / "services.json", env=env
    )
    sup.start()
    try:
        _run(sup, sup.all_healthy, 60)
        first = sup.snapshot().services[0].pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _run(sup, lambda: not sup.all_healthy(), 10)
        _run(sup, sup.all_healthy, 60)
        (state,) = sup.snapshot().services
        assert state.pid != first
        assert state.restarts == 1
        assert state.last_exit == -signal.SIGKILL
        second = state.pid
    finally:
        sup.stop()
    assert second is not None
    assert not psutil.pid_exists(second) or psutil.Process(second).status() == "zombie"
    assert sup.snapshot().services[0].phase == "stopped"


def _api(name: str, tmp_path: Path) -> ServiceSpec:
    port = free_ports(1)[0]
    return ServiceSpec(
        name=name,
        kind="api",
        args=("api", "serve", "--bootstrap", "127.0.0.1:1", "--database",
              f"sqlite:///{tmp_path / f'{name}.db'}", "--port", str(port)),
        health_url=f"http://127.0.0.1:{port}/api/health",
    )  # fmt: skip


def test_a_new_plan_starts_what_is_new_stops_what_is_gone_and_touches_nothing_else(
    tmp_path: Path,
) -> None:
    a, b, c = (_api(n, tmp_path) for n in ("a", "b", "c"))
    env = {"FLEET_HOME": str(tmp_path / "home"), "FLEET_API_TOKEN": "t"}
    sup = ProcessSupervisor(
        [a, b], logs=tmp_path / "logs", snapshot=tmp_path / "services.json", env=env
    )
    sup.start()
    try:
        _run(sup, sup.all_healthy, 60)
        pids = {s.name: s.pid for s in sup.snapshot().services}
        started, stopped = sup.reconcile([b, c], [])
        assert (started, stopped) == (["c"], ["a"])
        _run(sup, sup.all_healthy, 60)
        after = {s.name: s for s in sup.snapshot().services}
        assert set(after) == {"b", "c"}
        assert after["b"].pid == pids["b"], "a service the plan kept was restarted"
        assert after["b"].restarts == 0
        assert after["c"].phase == "healthy"
        gone = pids["a"]
        assert gone is not None
        assert not psutil.pid_exists(gone) or psutil.Process(gone).status() == "zombie"
    finally:
        sup.stop()
