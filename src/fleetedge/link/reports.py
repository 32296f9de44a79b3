"""The supervisor's word on each link, written ashore as :class:`LinkReport` events.

A vessel's link is ``offline`` when its cluster does not answer through the link (a probe from
the shore's side), its cluster does not answer at all, or its newest heartbeat is older than
``offline_after`` (where a downlink emits heartbeats: the shore role runs none); ``degraded``
when it answers but records wait aboard longer than ``degraded_after`` or retention removed
some before they were mirrored; else ``online``. Reports go to ``fleet.link`` keyed by vessel,
numbered per vessel from a counter kept in the supervisor's directory, so a restarted
supervisor goes on from where it was.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from confluent_kafka import Producer

from fleetedge.events import JSON, LinkReport, LinkState
from fleetedge.events import topics as t
from fleetedge.link.health import LinkHealth, QuietLogger
from fleetedge.security.clients import kafka_config

log = structlog.get_logger("fleetedge.link.reports")


@dataclass(frozen=True)
class StateRules:
    offline_after_s: float = 60.0
    degraded_after_s: float = 300.0

    def judge(
        self, health: LinkHealth, *, link_answers: bool = True, heartbeats: bool = True
    ) -> LinkState:
        """``heartbeats``: whether a downlink emits them (without one, the link is judged by
        whether it answers and by what waits aboard)."""
        beat = health.last_heartbeat_age_s
        if not link_answers or not health.vessel_reachable:
            return LinkState.OFFLINE
        if heartbeats and (beat is None or beat > self.offline_after_s):
            return LinkState.OFFLINE
        waiting = health.oldest_unmirrored_age_s or 0.0
        if waiting > self.degraded_after_s or health.lost_to_retention > 0:
            return LinkState.DEGRADED
        return LinkState.ONLINE


class LinkReporter:
    """Write one :class:`LinkReport` per measurement to the shore's ``fleet.link``."""

    def __init__(
        self, shore_bootstrap: str, directory: Path, rules: StateRules | None = None
    ) -> None:
        self.rules = rules or StateRules()
        self._counter = directory / "link-report-seq.json"
        directory.mkdir(parents=True, exist_ok=True)
        self._seqs: dict[str, int] = (
            json.loads(self._counter.read_text()) if self._counter.exists() else {}
        )
        self._producer = Producer(
            {
                **kafka_config(shore_bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "logger": QuietLogger(),
            }
        )

    def report(
        self, health: LinkHealth, *, link_answers: bool = True, heartbeats: bool = True
    ) -> LinkReport:
        seq = self._seqs.get(health.vessel, 0) + 1
        report = LinkReport(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"fleetedge:link:{health.vessel}:{seq}"),
            vessel_id=health.vessel,
            event_time=datetime.fromtimestamp(health.checked_at_ms / 1000, UTC),
            seq=seq,
            state=self.rules.judge(health, link_answers=link_answers, heartbeats=heartbeats),
            backlog_records=health.backlog_records,
            backlog_bytes=health.backlog_bytes,
            oldest_unmirrored_s=health.oldest_unmirrored_age_s,
            heartbeat_age_s=health.last_heartbeat_age_s,
            seconds_to_drain=health.eta_s,
            lost_to_retention=health.lost_to_retention,
        )
        self._producer.produce(
            t.FLEET_LINK.name, key=health.vessel.encode(), value=JSON.encode(report)
        )
        self._producer.poll(0)
        self._seqs[health.vessel] = seq
        self._counter.write_text(json.dumps(self._seqs))
        return report

    def close(self) -> None:
        if self._producer.flush(10) != 0:
            log.warning("link reports not delivered before close")
