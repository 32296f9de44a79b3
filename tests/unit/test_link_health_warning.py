"""The link service says so, as a warning, when a vessel's link health stays unmeasurable (the
shore or the vessel away for minutes); a short gap stays an info line."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from structlog.testing import capture_logs

from fleetedge.link import supervisor as module
from fleetedge.link.rest import ConnectRest
from fleetedge.link.supervisor import UNMEASURABLE_WARN_S, LinkSupervisor
from fleetedge.link.vessels import VesselLink


def _unmeasurable(*_args: object) -> None:
    raise KafkaException(KafkaError(KafkaError._TRANSPORT, "the shore is away"))


@pytest.fixture
def link(monkeypatch: pytest.MonkeyPatch) -> VesselLink:
    monkeypatch.setattr(module, "measure", _unmeasurable)
    return VesselLink("vessel-9", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", {}, None)


def _levels(supervisor: LinkSupervisor, link: VesselLink) -> list[str]:
    with capture_logs() as logs:
        supervisor._measure(link, answers=False)
    return [e["log_level"] for e in logs if "not measurable" in e["event"]]


def test_a_short_gap_is_info_and_a_long_one_a_warning_said_once_a_minute(
    link: VesselLink,
) -> None:
    supervisor = LinkSupervisor([link], ConnectRest(["http://127.0.0.1:1"]))
    assert _levels(supervisor, link) == ["info"]
    assert link.unmeasurable_since is not None
    link.unmeasurable_since = time.monotonic() - UNMEASURABLE_WARN_S - 1
    assert _levels(supervisor, link) == ["warning"]
    assert _levels(supervisor, link) == ["info"]  # said again a minute later, not each round
