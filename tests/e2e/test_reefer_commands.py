"""Remote reefer commands on the whole running fleet: Kafka, the downlink, the vessel's command
handler and reefer controllers, the uplink, the projector and the API.

Every check reads what a user would: the lifecycle from `fleet command list` and the API, the
reefer's temperatures from its windows ashore, the setpoint from its readings aboard.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from datetime import datetime
from typing import Any

import psutil
import pytest

from fleetedge.devices import FaultRates, manifest
from fleetedge.events import CommandAck, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.events.telemetry import Cargo
from fleetedge.events.vessel import CommandStatus
from fleetedge.link.mirror import DOWNLINK
from fleetedge.runtime.jvm import find_processes
from fleetedge.runtime.reading import read_to_end
from tests.support.cli import fleet
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka


def sim_args(running_fleet: RunningFleet, vessel: str) -> tuple[str, ...]:
    return next(s.args for s in running_fleet.plan.services if s.name == f"sim-{vessel}")


def aboard(running_fleet: RunningFleet, vessel: str) -> str:
    """The vessel cluster's bootstrap servers."""
    args = sim_args(running_fleet, vessel)
    return args[args.index("--bootstrap") + 1]


def reefers(running_fleet: RunningFleet, vessel: str, cargo: Cargo) -> list[tuple[str, float]]:
    """(container, ordered setpoint) of the vessel's reefers of ``cargo``."""
    args = sim_args(running_fleet, vessel)
    seed = int(args[args.index("--seed") + 1])
    entries = manifest(
        vessel, running_fleet.plan.containers, seed, FaultRates().wrong_setpoint_fraction
    )
    return [(e.container_id, e.setpoint_c) for e in entries if e.cargo is cargo]


def command(running_fleet: RunningFleet, command_id: str) -> dict[str, Any] | None:
    listed = running_fleet.get("/api/commands?limit=500")
    return next((c for c in listed if c["command_id"] == command_id), None)


def reached(running_fleet: RunningFleet, command_id: str, status: str) -> dict[str, Any] | None:
    found = command(running_fleet, command_id)
    return found if found and found["status"] == status else None


def send(running_fleet: RunningFleet, *args: str) -> str:
    """`fleet command send`; the new command's id."""
    out = running_fleet.fleet("command", "send", *args)
    return str(uuid.UUID(out.split()[0]))


def controller_answers(
    running_fleet: RunningFleet, vessel: str, command_id: str
) -> list[CommandAck]:
    """The reefer controller's own answers to the command, read aboard."""
    acks = [decode(v) for v in read_to_end(aboard(running_fleet, vessel), t.COMMAND_ACKS.name)]
    return [
        a for a in acks
        if isinstance(a, CommandAck) and str(a.command_id) == command_id
        and a.status in (CommandStatus.SUCCEEDED, CommandStatus.REJECTED)
    ]  # fmt: skip


@pytest.mark.slow
def test_a_setpoint_change_is_applied_and_the_box_converges_without_an_excursion(
    running_fleet: RunningFleet,
) -> None:
    vessel = running_fleet.plan.vessels[0]
    container, ordered = next(
        c for c in reefers(running_fleet, vessel, Cargo.FROZEN) if c[1] == -18.0
    )
    wait_for(lambda: running_fleet.get(f"/api/containers/{container}"), 300, "the container ashore")
    sent = send(running_fleet, vessel, container, "set-setpoint", "--setpoint", "-24")
    applied = wait_for(lambda: reached(running_fleet, sent, "applied"), 300, "applied")
    assert [s["step"] for s in applied["steps"]] == ["requested", "delivered", "applied"]
    times = [datetime.fromisoformat(s["at"]) for s in applied["steps"]]
    assert times == sorted(times)
    assert f"{ordered:g} → -24 °C" in applied["steps"][-1]["reason"]

    def converged() -> bool:
        latest = running_fleet.get(f"/api/containers/{container}/history?limit=1")
        return (
            bool(latest)
            and latest[0]["setpoint_c"] == -24.0
            and (abs(latest[0]["return_mean_c"] - -24.0) < 1.0)
        )

    wait_for(converged, 400, f"{container}'s windows ashore at the new setpoint")
    alerts = running_fleet.get(f"/api/alerts?vessel={vessel}&limit=1000")
    excursions = [
        a for a in alerts
        if a["container_id"] == container and a["kind"] == "temperature_excursion"
    ]  # fmt: skip
    assert excursions == [], "the pull-down to the new setpoint raised an excursion"
    [answer] = controller_answers(running_fleet, vessel, sent)
    assert answer.status is CommandStatus.SUCCEEDED
    listed = running_fleet.fleet("command", "list", "--container", container)
    assert sent in listed
    assert "applied" in listed


def test_unsafe_commands_are_refused_naming_the_field_and_nothing_reaches_the_vessel(
    running_fleet: RunningFleet,
) -> None:
    vessel, other = running_fleet.plan.vessels[:2]
    container, _ = reefers(running_fleet, vessel, Cargo.FROZEN)[0]
    wait_for(lambda: running_fleet.get(f"/api/containers/{container}"), 300, "the container ashore")
    before = len(running_fleet.get("/api/commands?limit=500"))
    refusals = [
        ((vessel, container, "set-setpoint", "--setpoint", "4"), "setpoint_c: setpoint 4.0 °C"),
        ((vessel, container, "set-setpoint", "--setpoint", "-45"), "unit's range"),
        ((other, container, "defrost"), f"container_id: container {container} is aboard"),
        ((vessel, "NOPE0000001", "pti"), "container_id: no container NOPE0000001"),
        ((vessel, container, "defrost", "--ttl", "30d"), "ttl_s"),
    ]
    for args, says in refusals:
        done = fleet("command", "send", *args, home=running_fleet.home,
                     settings=running_fleet.settings)  # fmt: skip
        assert done.returncode != 0, args
        assert "refused (422)" in done.stderr, done.stderr
        assert says in done.stderr, done.stderr
    assert len(running_fleet.get("/api/commands?limit=500")) == before
    delivered = [decode(v) for v in read_to_end(aboard(running_fleet, vessel), t.CONTROLS.name)]
    assert not any(getattr(c, "container_id", None) == "NOPE0000001" for c in delivered)


@pytest.mark.slow
def test_the_downlink_and_the_command_handler_killed_mid_delivery_apply_each_command_once(
    running_fleet: RunningFleet,
) -> None:
    vessel = running_fleet.plan.vessels[1]
    boxes = [c for c, _ in reefers(running_fleet, vessel, Cargo.CHILLED)][:3]
    for box in boxes:
        wait_for(lambda box=box: running_fleet.get(f"/api/containers/{box}"), 300, box)
    sent = [send(running_fleet, vessel, box, "pti") for box in boxes]
    # The downlink's MirrorMaker 2 and the vessel's command handler die mid-delivery.
    [downlink] = wait_for(lambda: downlink_pids(running_fleet, vessel), 60, "the downlink JVM")
    os.kill(downlink, signal.SIGKILL)
    running_fleet.fleet("chaos", "kill-service", f"commands-{vessel}")
    sent += [send(running_fleet, vessel, box, "defrost") for box in boxes]
    running_fleet.fleet("chaos", "kill-service", f"commands-{vessel}")
    for command_id in sent:
        done = wait_for(
            lambda c=command_id: (
                (found := command(running_fleet, c)) and found["status"] in ("applied", "rejected")
            ),
            400,
            f"command {command_id} answered",
        )
        assert done
        assert len(controller_answers(running_fleet, vessel, command_id)) == 1, command_id
    controls = [decode(v) for v in read_to_end(aboard(running_fleet, vessel), t.CONTROLS.name)]
    for command_id in sent:
        passed_on = [c for c in controls if str(getattr(c, "command_id", "")) == command_id]
        assert len(passed_on) == 1, f"{command_id} passed to the controllers {len(passed_on)}x"


def downlink_pids(running_fleet: RunningFleet, vessel: str) -> list[int]:
    """The vessel's downlink MirrorMaker 2 JVM (its marker directory ends in the flow)."""
    suffix = f"/{vessel}/{DOWNLINK.name}"
    found = []
    for pid in find_processes(running_fleet.home):
        with contextlib.suppress(psutil.NoSuchProcess):
            marker = [a for a in psutil.Process(pid).cmdline() if a.startswith("-Dfleetedge.")]
            if any(a.endswith(suffix) for a in marker):
                found.append(pid)
    return found


def readings_of(running_fleet: RunningFleet, vessel: str, container: str) -> list[ReeferReading]:
    values = read_to_end(aboard(running_fleet, vessel), t.TELEMETRY.name)
    found = (decode(v) for v in values)
    return [r for r in found if isinstance(r, ReeferReading) and r.container_id == container]


@pytest.mark.slow
def test_a_command_sent_during_a_cut_waits_then_one_expiring_in_the_cut_is_never_applied(
    running_fleet: RunningFleet,
) -> None:
    vessel = running_fleet.plan.vessels[1]
    (waits, its_setpoint), (lapses, ordered) = reefers(running_fleet, vessel, Cargo.FROZEN)[:2]
    for box in (waits, lapses):
        wait_for(lambda box=box: running_fleet.get(f"/api/containers/{box}"), 300, box)
    downlink = wait_for(lambda: downlink_pids(running_fleet, vessel), 120, "the downlink")
    running_fleet.fleet("chaos", "cut-link", vessel)
    try:
        # A setpoint in range, which the controller always carries out: a defrost is refused
        # while one runs (the unit's own cycle started one in CI's run, and "applied" never came).
        kept = send(running_fleet, vessel, waits, "set-setpoint", "--setpoint",
                    f"{its_setpoint - 1:g}", "--ttl", "1h")  # fmt: skip
        lapsed = send(running_fleet, vessel, lapses, "set-setpoint", "--setpoint", "-25",
                      "--ttl", "20s")  # fmt: skip
        with pytest.raises(AssertionError, match="timed out"):
            wait_for(
                lambda: reached(running_fleet, kept, "delivered"), 30, "delivery over a cut link"
            )
        assert reached(running_fleet, kept, "requested")
        wait_for(lambda: reached(running_fleet, lapsed, "expired"), 60, "expired ashore")
    finally:
        running_fleet.fleet("chaos", "restore-link", vessel)
    applied = wait_for(lambda: reached(running_fleet, kept, "applied"), 400, "applied after")
    assert [s["step"] for s in applied["steps"]] == ["requested", "delivered", "applied"]
    # The downlink rode the cut out itself: it was not restarted (by the link service, whose
    # last resort for heartbeats that stay stale is a restart) to deliver the command.
    assert downlink_pids(running_fleet, vessel) == downlink
    refused = wait_for(
        lambda: (
            (found := command(running_fleet, lapsed))
            and any(s["step"] == "expired" for s in found["steps"])
            and found
        ),
        400,
        "the vessel's word that the command expired",
    )
    assert [s["step"] for s in refused["steps"]] == ["requested", "expired"]
    assert "not applied" in refused["steps"][-1]["reason"]
    assert controller_answers(running_fleet, vessel, lapsed) == []
    # The reefer's own readings, up to some taken after the vessel refused it, still report
    # the setpoint it was ordered with.
    seen = len(readings_of(running_fleet, vessel, lapses))
    wait_for(
        lambda: len(readings_of(running_fleet, vessel, lapses)) > seen + 5, 120, "new readings"
    )
    setpoints = {r.setpoint_c for r in readings_of(running_fleet, vessel, lapses)}
    assert setpoints == {ordered}, f"the expired command changed the setpoint: {setpoints}"
