"""The "nothing lost" check: every window and alert the vessels hold is in the shore's read model,
and no container's readings have a gap ashore.

Aboard is read from each vessel's own ``reefer.aggregates`` and ``reefer.alerts`` up to their
ends at the time of the check; ashore from the read model, which keys windows by (container,
seq) and alerts by id, so a record the link delivered twice is counted once. The mirrored topics
are audited too, so the report says how many records the link delivered twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fleetedge.api.reader import ReadModel
from fleetedge.events import Alert, ContainerWindow
from fleetedge.events import topics as t
from fleetedge.events.codec import decode
from fleetedge.events.exceptions import EventError
from fleetedge.link.audit import audit
from fleetedge.runtime.reading import read_to_end


@dataclass
class VesselTally:
    vessel: str
    windows_aboard: int = 0
    alerts_aboard: int = 0
    windows_missing: list[tuple[str, int]] = field(default_factory=list)
    alerts_missing: list[str] = field(default_factory=list)
    delivered_twice: int = 0

    @property
    def complete(self) -> bool:
        return not self.windows_missing and not self.alerts_missing


@dataclass
class LossReport:
    vessels: list[VesselTally]
    containers: int = 0
    readings_ashore: int = 0
    readings_missing: int = 0
    containers_with_gaps: int = 0

    @property
    def nothing_lost(self) -> bool:
        return all(v.complete for v in self.vessels) and self.readings_missing == 0

    def lines(self) -> list[str]:
        out = []
        for v in self.vessels:
            out.append(
                f"{v.vessel}: windows aboard {v.windows_aboard}, ashore "
                f"{v.windows_aboard - len(v.windows_missing)}; alerts aboard {v.alerts_aboard}, "
                f"ashore {v.alerts_aboard - len(v.alerts_missing)}; "
                f"{v.delivered_twice} records delivered twice by the link, counted once"
            )
        out.append(
            f"completeness: {self.containers} containers, {self.readings_ashore} readings "
            f"ashore, {self.readings_missing} missing in {self.containers_with_gaps} containers"
        )
        return out


def aboard(bootstrap: str) -> tuple[dict[tuple[str, int], None], dict[str, int]]:
    """The vessel's windows (container, seq) and alerts (id → newest seq), as of now."""
    windows: dict[tuple[str, int], None] = {}
    alerts: dict[str, int] = {}
    for value in read_to_end(bootstrap, t.AGGREGATES.name):
        event = _decode(value)
        if isinstance(event, ContainerWindow):
            windows[(event.container_id, event.seq)] = None
    for value in read_to_end(bootstrap, t.ALERTS.name):
        event = _decode(value)
        if isinstance(event, Alert):
            key = str(event.alert_id)
            alerts[key] = max(alerts.get(key, 0), event.seq)
    return windows, alerts


def _decode(value: bytes) -> object:
    try:
        return decode(value)
    except EventError:
        return None


def compare(
    vessel: str,
    windows: dict[tuple[str, int], None],
    alerts: dict[str, int],
    reader: ReadModel,
) -> VesselTally:
    tally = VesselTally(vessel, len(windows), len(alerts))
    ashore_windows = {
        (str(r[0]), int(r[1]))
        for r in reader.rows(
            "SELECT container_id, seq FROM {container_windows} WHERE vessel_id = ?", (vessel,)
        )
    }
    ashore_alerts = {
        str(r[0]): int(r[1])
        for r in reader.rows("SELECT alert_id, seq FROM {alerts} WHERE vessel_id = ?", (vessel,))
    }
    tally.windows_missing = [w for w in windows if w not in ashore_windows]
    tally.alerts_missing = [a for a, seq in alerts.items() if ashore_alerts.get(a, 0) < seq]
    return tally


def check(
    vessels: dict[str, str],
    shore_bootstrap: str,
    reader: ReadModel,
    *,
    timeout: float = 180.0,
    on_wait: Callable[[str], None] | None = None,
) -> LossReport:
    """Take what every vessel holds now, then wait (up to ``timeout``) until the shore has it."""
    held = {name: aboard(bootstrap) for name, bootstrap in vessels.items()}
    deadline = time.monotonic() + timeout
    while True:
        tallies = [compare(name, *held[name], reader) for name in vessels]
        if all(v.complete for v in tallies) or time.monotonic() > deadline:
            break
        if on_wait is not None:
            waiting = sum(len(v.windows_missing) + len(v.alerts_missing) for v in tallies)
            on_wait(f"{waiting} records still on their way ashore")
        time.sleep(2.0)  # polling the read model; the loop's condition is the deadline above
    for tally in tallies:
        for topic in (t.AGGREGATES.name, t.ALERTS.name):
            mirrored = f"{tally.vessel}.{topic}"
            tally.delivered_twice += audit(
                mirrored, read_to_end(shore_bootstrap, mirrored)
            ).duplicates
    report = LossReport(tallies)
    for r in reader.rows("SELECT received, gaps FROM {completeness}"):
        gaps = json.loads(r[1])
        report.containers += 1
        report.readings_ashore += int(r[0])
        if gaps:
            report.containers_with_gaps += 1
            report.readings_missing += sum(b - a + 1 for a, b in gaps)
    return report
