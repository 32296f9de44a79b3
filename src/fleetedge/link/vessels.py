"""What the link supervisor keeps for each vessel it carries (:mod:`fleetedge.link.supervisor`):
its endpoints and connectors, its downlink, and the clocks its checks run on."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from fleetedge.link.health import DrainTracker, LinkHealth
from fleetedge.link.mirror import MirrorProcess
from fleetedge.link.probe import LinkProbe
from fleetedge.link.rest import ConnectorState


@dataclass
class Overdue:
    """Since when (or since the last restart) something Connect should list is missing, and
    how long to wait before asking for a restart."""

    since: float
    wait: float


@dataclass
class VesselLink:
    """What the supervisor keeps and watches for one vessel."""

    vessel: str
    vessel_bootstrap: str  # aboard, for the backlog
    link_bootstrap: str  # the vessel as the shore reaches it, through the link
    shore_bootstrap: str
    connectors: dict[str, dict[str, str]]  # name -> config, on the shore's Connect cluster
    downlink: MirrorProcess | None
    drain: DrainTracker = field(default_factory=DrainTracker)
    health: LinkHealth | None = None
    states: dict[str, ConnectorState] = field(default_factory=dict)
    # Per connector: when this supervisor first saw it, and since when all its tasks run. No
    # stall or stale heartbeat is judged before the connectors had their time to start.
    seen_at: dict[str, float] = field(default_factory=dict)
    running_since: dict[str, float] = field(default_factory=dict)
    progress_at: float = field(default_factory=time.monotonic)
    last_mirrored: int = -1
    backoff: float = 0.0
    beats_at: float = field(default_factory=time.monotonic)
    beat_backoff: float = 0.0
    # A downlink that keeps dying young (it cannot start while the link is down) is restarted
    # with a growing pause, not in a loop of JVM starts.
    downlink_started: float = 0.0
    downlink_pause: float = 0.0
    downlink_not_before: float = 0.0
    # Since when the link answers again (None while it is down): the bulk's hold.
    answers_since: float | None = None
    bulk_held: bool = False  # we asked Connect to pause the bulk connector
    resumed_at: float = -1e9
    # (connector, "status" or "tasks"): what Connect does not list, since when, and the wait.
    missing: dict[tuple[str, str], Overdue] = field(default_factory=dict)
    probe: LinkProbe | None = None  # made on first use, from ``link_bootstrap``
    look: Future[bool] | None = None  # the probe's look in flight (LinkSupervisor._look_all)
    # Since when the health could not be measured, and when that was last said as a warning.
    unmeasurable_since: float | None = None
    unmeasurable_warned: float = 0.0
