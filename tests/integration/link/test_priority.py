"""Alerts come ashore before the bulk backlog; a shaped link keeps up with a full vessel. (Alerts
first after ten cuts in a row: test_outages.py, beside its long outage.)"""

from __future__ import annotations

import time

import pytest

from fleetedge.events import topics
from fleetedge.link.emulator import Shape
from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import LinkEnv
from tests.support.traffic import arrived_once_in_order, shore_sequences

pytestmark = pytest.mark.kafka


def test_alerts_overtake_the_bulk_backlog(linked: LinkEnv) -> None:
    linked.emulator.shape(linked.name, Shape(kbps=64, latency_ms=600, jitter_ms=50))
    traffic = linked.traffic("PRIU", containers=2500)
    linked.emulator.cut(linked.name)
    # One hour of a 2,500-reefer vessel's 15-minute windows waits aboard.
    traffic.burst(4 * 2500)
    alert = traffic.one_alert()
    linked.emulator.restore(linked.name)
    restored = time.monotonic()
    shore_alerts = topics.on_shore(linked.name, topics.ALERTS)

    def alert_ashore() -> bool:
        seen = shore_sequences(linked.shore.bootstrap_servers, shore_alerts, 1)
        return alert.seq in seen.get(f"{alert.kind}:{alert.source}", [])

    wait_until(alert_ashore, timeout=180, what="the alert ashore", interval=0.5)
    latency = time.monotonic() - restored
    health = linked.health()
    backlog = health.backlog_records
    print(f"first alert ashore {latency:.1f}s after reconnection, {backlog} windows still aboard")
    assert health.vessel_reachable, "the backlog could not be measured"
    parts = [(p.topic, p.partition, p.log_end, p.next_to_mirror) for p in health.partitions]
    assert backlog > 1000, f"the alert should have overtaken most of the bulk backlog: {parts}"
    linked.emulator.shape(linked.name, Shape())
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=600)


@pytest.mark.slow
def test_shaped_link_keeps_up_with_a_full_vessel(linked: LinkEnv) -> None:
    linked.emulator.shape(linked.name, Shape(kbps=64, latency_ms=600))
    # 2,500 reefers, a window each per 15 minutes, at 3x that rate to show the margin.
    rate = 3 * 2500 / 900
    traffic = linked.traffic("SHPU", containers=2500, rate=rate, alert_every=50).start()
    wanted = int(rate * 90)  # 90 s of that rate, counted in acknowledged windows
    wait_until(lambda: traffic.acked_count >= wanted, timeout=150, what="90 s of windows",
               interval=5)  # fmt: skip
    traffic.stop()
    stopped = time.monotonic()
    arrived_once_in_order(linked.shore.bootstrap_servers, linked.name, traffic.acked, timeout=120)
    lag = time.monotonic() - stopped
    print(f"at 3x a 2,500-reefer vessel's rate over 64 kbit/s, 600 ms: drained {lag:.1f}s after")
    assert lag < 60, "the link fell behind at three times a full vessel's rate"
