"""Vessels join and leave the running fleet (`fleet vessel add|remove`): the new vessel's
windows reach the read model, the removed one's connectors are gone and its link is reported
offline, and the other vessels' flows never pause on the way. Bad requests change nothing."""

from __future__ import annotations

import json
import threading
import time

import pytest

from fleetedge.events import topics
from fleetedge.link.connectors import connector_names
from fleetedge.link.exceptions import ConnectRestError
from fleetedge.link.rest import ConnectRest
from fleetedge.runtime import list_clusters
from fleetedge.runtime.reading import end_offset
from tests.support.cli import fleet
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka

NEW = "mv-anna"


def _connect(running_fleet: RunningFleet) -> ConnectRest:
    return ConnectRest(running_fleet.plan.connect_urls(), timeout=30)


class FlowWatch:
    """Samples another vessel's windows ashore and its connectors while vessels come and go."""

    def __init__(self, running_fleet: RunningFleet, vessel: str, shore: str) -> None:
        self.connect = _connect(running_fleet)
        self.vessel = vessel
        self.shore = shore
        self.topic = topics.on_shore(vessel, topics.AGGREGATES)
        self.samples: list[tuple[float, int]] = []
        self.not_running: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> FlowWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def longest_pause(self) -> float:
        """The longest time the vessel's windows ashore did not grow."""
        longest, since = 0.0, self.samples[0][0]
        for (_, before), (at, after) in zip(self.samples, self.samples[1:], strict=False):
            if after > before:
                since = at
            longest = max(longest, at - since)
        return longest

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.samples.append((time.monotonic(), end_offset(self.shore, self.topic)))
            try:
                states = self.connect.connectors()
            except ConnectRestError:
                continue  # a rebalance answers 409: asked again next round
            for name in connector_names(self.vessel):
                state = states.get(name)
                if state is None:
                    # The expanded list leaves out a connector whose status the answering
                    # worker lacks for a moment (a rebalance); its own status says for sure.
                    try:
                        state = self.connect.status(name)
                    except ConnectRestError:
                        continue
                if state is None or state.failed:
                    self.not_running.append(f"{name}: {state.state if state else 'absent'}")


def _log_tail(running_fleet: RunningFleet, service: str) -> str:
    """The end of a service's log, to say why it restarted."""
    log = running_fleet.home / "fleet" / "logs" / f"{service}.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def _containers(running_fleet: RunningFleet, vessel: str) -> int:
    return len(running_fleet.get(f"/api/vessels/{vessel}/containers"))


@pytest.mark.slow
def test_a_vessel_joins_and_leaves_the_running_fleet(running_fleet: RunningFleet) -> None:
    shore = running_fleet.fleet("cluster", "status", "shore", "--json")
    shore_bootstrap = json.loads(shore)["bootstrap_servers"]
    other = running_fleet.plan.vessels[0]
    before = {s.name: (s.pid, s.restarts) for s in running_fleet.snapshot().services}
    watch = FlowWatch(running_fleet, other, shore_bootstrap).start()
    try:
        wait_for(lambda: len(watch.samples) >= 3, 60, "the watch under way")
        out = running_fleet.fleet(
            "vessel", "add", NEW, "--containers", "20", "--nodes", "1", timeout=600
        )
        assert f"{NEW} joined the fleet" in out
        states = _connect(running_fleet).connectors()
        assert all(states[n].state == "RUNNING" for n in connector_names(NEW))
        # Its windows reach the read model, without a restart of anything ashore.
        wait_for(lambda: _containers(running_fleet, NEW) == 20, 300, f"{NEW}'s 20 reefers ashore",
                 every=3)  # fmt: skip
        listed = {v["vessel_id"] for v in running_fleet.get("/api/vessels")}
        assert NEW in listed

        out = running_fleet.fleet("vessel", "remove", NEW, timeout=600)
        assert f"{NEW} left the fleet" in out
        assert not set(connector_names(NEW)) & set(_connect(running_fleet).connectors())
        assert NEW not in list_clusters(running_fleet.home)
        wait_for(
            lambda: running_fleet.get(f"/api/vessels/{NEW}")["link"]["state"] == "offline",
            120,
            f"{NEW} shown offline",
            every=2,
        )
    finally:
        watch.stop()
    snapshot = running_fleet.snapshot()
    assert not [s for s in snapshot.services if s.vessel == NEW]
    # Nothing else restarted: every other service kept its process.
    after = {s.name: (s.pid, s.restarts) for s in snapshot.services}
    restarted = sorted(name for name, was in before.items() if after.get(name) != was)
    assert not restarted, {name: _log_tail(running_fleet, name) for name in restarted}
    assert after.keys() == before.keys()
    # The other vessel's flow never paused: its connectors stayed up and its windows kept coming.
    assert not watch.not_running, watch.not_running[:5]
    assert watch.samples[-1][1] > watch.samples[0][1]
    assert watch.longest_pause() < 60, f"{other}'s windows paused {watch.longest_pause():.0f}s"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("vessel", "add", "Bad.Name"), "is not a vessel id"),
        (("vessel", "add", "vessel-1"), "vessel-1 is already in the fleet"),
        (("vessel", "remove", "no-such-ship"), "no vessel 'no-such-ship' in the fleet"),
        (
            ("link", "status", "--connect", "http://127.0.0.1:9", "--sample", "0"),
            "Kafka Connect unavailable",
        ),
    ],
)
def test_bad_vessel_requests_fail_in_one_line_and_change_nothing(
    running_fleet: RunningFleet, args: tuple[str, ...], says: str
) -> None:
    before = (running_fleet.fleet("vessel", "list"), sorted(list_clusters(running_fleet.home)))
    done = fleet(*args, home=running_fleet.home, settings=running_fleet.settings, timeout=120)
    text = done.stdout + done.stderr
    assert says in text
    if args[0] == "vessel":
        assert done.returncode != 0
        assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2
    after = (running_fleet.fleet("vessel", "list"), sorted(list_clusters(running_fleet.home)))
    assert after == before
