"""The link service's Prometheus metrics: what it asked Connect for, and each vessel's link
health as last measured."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from fleetedge.link.health import LinkHealth

RESTARTS = Counter(
    "fleetedge_link_restarts_total",
    "restarts the supervisor asked for (connectors through Connect, the downlink process)",
    ["vessel", "flow", "reason"],
)
CONNECTOR_UP = Gauge(
    "fleetedge_link_connector_running",
    "1 while the connector and all its tasks are RUNNING",
    ["vessel", "flow"],
)
TASKS = Gauge("fleetedge_link_connector_tasks", "tasks of the connector", ["vessel", "flow"])
DOWNLINK_UP = Gauge("fleetedge_link_downlink_up", "1 while the downlink process runs", ["vessel"])
BACKLOG = Gauge("fleetedge_link_backlog_records", "records aboard not yet mirrored", ["vessel"])
BACKLOG_BYTES = Gauge(
    "fleetedge_link_backlog_bytes", "estimated bytes not yet mirrored", ["vessel"]
)
OLDEST = Gauge(
    "fleetedge_link_oldest_unmirrored_seconds", "age of the oldest record not mirrored", ["vessel"]
)
HEARTBEAT_AGE = Gauge(
    "fleetedge_link_heartbeat_age_seconds", "age of the newest heartbeat ashore", ["vessel"]
)
DRAIN = Gauge("fleetedge_link_drain_rate_records", "records mirrored per second", ["vessel"])
ETA = Gauge("fleetedge_link_time_to_drain_seconds", "estimated seconds to drain", ["vessel"])
LOST = Gauge(
    "fleetedge_link_lost_to_retention_records",
    "records removed aboard by retention before they were mirrored",
    ["vessel"],
)


def export(health: LinkHealth) -> None:
    """Set the gauges of ``health``'s vessel."""
    v = health.vessel
    BACKLOG.labels(v).set(health.backlog_records)
    BACKLOG_BYTES.labels(v).set(health.backlog_bytes)
    OLDEST.labels(v).set(health.oldest_unmirrored_age_s or 0)
    HEARTBEAT_AGE.labels(v).set(
        health.last_heartbeat_age_s if health.last_heartbeat_age_s is not None else float("nan")
    )
    DRAIN.labels(v).set(health.drain_rate_rps or 0)
    ETA.labels(v).set(health.eta_s if health.eta_s is not None else float("nan"))
    LOST.labels(v).set(health.lost_to_retention)
