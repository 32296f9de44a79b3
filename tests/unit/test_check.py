"""`fleet check` counts a record twice only where exactly-once allows it: a window re-sent on the
shore's request. A repeat written aboard, or one the uplink added ashore, is not "nothing lost"."""

from __future__ import annotations

import pytest

from fleetedge.events import JSON, ContainerWindow, decode
from fleetedge.events import topics as t
from fleetedge.orchestration.check import LossReport, VesselTally, count_twice
from tests.support.fleet import VesselRun, simulate


@pytest.fixture(scope="module")
def run() -> VesselRun:
    return simulate("vessel-5", containers=4, minutes=60, seed=3)


def _logs(run: VesselRun) -> tuple[list[bytes], list[bytes]]:
    aggregates = [o.value for o in run.of(t.AGGREGATES.name)]
    alerts = [o.value for o in run.of(t.ALERTS.name)]
    assert len(aggregates) >= 12  # 4 boxes for an hour
    assert alerts  # the busy fault rates raise some
    return aggregates, alerts


def _report(**logs: tuple[list[bytes], list[bytes]]) -> tuple[VesselTally, LossReport]:
    tally = VesselTally("vessel-5")
    for aboard, ashore in logs.values():
        count_twice(tally, aboard=aboard, ashore=ashore)
    return tally, LossReport([tally])


def test_a_faithful_mirror_is_nothing_lost(run: VesselRun) -> None:
    aggregates, alerts = _logs(run)
    # Ashore read first: it may lag the vessel, never hold more.
    tally, report = _report(windows=(aggregates, aggregates[:-3]), alerts=(alerts, alerts))
    assert (tally.written_twice, tally.delivered_twice, tally.resent) == (0, 0, 0)
    assert report.nothing_lost


def test_a_record_the_link_delivered_twice_is_not_nothing_lost(run: VesselRun) -> None:
    aggregates, alerts = _logs(run)
    tally, report = _report(
        windows=(aggregates, [*aggregates, aggregates[4]]), alerts=(alerts, [*alerts, alerts[0]])
    )
    assert tally.delivered_twice == 2
    assert not report.nothing_lost
    assert "twice: 0 aboard, 2 by the link" in report.lines()[0]


def test_a_window_the_edge_wrote_twice_is_not_nothing_lost(run: VesselRun) -> None:
    aggregates, alerts = _logs(run)
    doubled = [*aggregates, aggregates[2]]
    tally, report = _report(windows=(doubled, doubled), alerts=(alerts, alerts))
    assert (tally.written_twice, tally.delivered_twice) == (1, 0)
    assert not report.nothing_lost


def test_a_window_re_sent_on_request_is_the_allowed_repeat(run: VesselRun) -> None:
    aggregates, alerts = _logs(run)
    window = decode(aggregates[2])
    assert isinstance(window, ContainerWindow)
    again = JSON.encode(window.model_copy(update={"resent": True}))
    both = [*aggregates, again]
    tally, report = _report(windows=(both, both), alerts=(alerts, alerts))
    assert (tally.written_twice, tally.delivered_twice, tally.resent) == (0, 0, 1)
    assert report.nothing_lost
