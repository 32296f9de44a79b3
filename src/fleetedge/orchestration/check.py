"""The "nothing lost" check: every window and alert the vessels hold is in the shore's read model,
and no container's readings have a gap ashore.

Aboard is read from each vessel's own ``reefer.aggregates`` and ``reefer.alerts`` up to their
ends at the time of the check; ashore from the read model, which keys windows by (container,
seq) and alerts by id, so a record delivered twice would be counted once there. So the logs are
checked too, where exactly-once is promised: aboard, the edge writes each window (container, seq)
and each alert step (id, seq) once (a window re-sent on the shore's request is the one allowed
repeat); ashore, the exactly-once uplink holds no record more often than the vessel's topic does.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fleetedge.api.reader import ReadModel
from fleetedge.events import Alert, ContainerWindow
from fleetedge.events import topics as t
from fleetedge.events.codec import decode
from fleetedge.events.exceptions import EventError
from fleetedge.runtime.reading import read_to_end


@dataclass
class VesselTally:
    vessel: str
    windows_aboard: int = 0
    alerts_aboard: int = 0
    windows_missing: list[tuple[str, int]] = field(default_factory=list)
    alerts_missing: list[str] = field(default_factory=list)
    written_twice: int = 0  # aboard: edge records repeated (exactly-once broken aboard)
    delivered_twice: int = 0  # ashore: mirrored copies beyond the vessel's own (uplink)
    resent: int = 0  # windows re-sent on the shore's request: allowed repeats

    @property
    def complete(self) -> bool:
        return not self.windows_missing and not self.alerts_missing

    @property
    def once(self) -> bool:
        return self.written_twice == 0 and self.delivered_twice == 0


@dataclass
class LossReport:
    vessels: list[VesselTally]
    containers: int = 0
    readings_ashore: int = 0
    readings_missing: int = 0
    containers_with_gaps: int = 0

    @property
    def nothing_lost(self) -> bool:
        """Everything ashore, and nothing twice where exactly-once promises it."""
        return all(v.complete and v.once for v in self.vessels) and self.readings_missing == 0

    def lines(self) -> list[str]:
        out = []
        for v in self.vessels:
            out.append(
                f"{v.vessel}: windows aboard {v.windows_aboard}, ashore "
                f"{v.windows_aboard - len(v.windows_missing)}; alerts aboard {v.alerts_aboard}, "
                f"ashore {v.alerts_aboard - len(v.alerts_missing)}; "
                f"twice: {v.written_twice} aboard, {v.delivered_twice} by the link "
                f"({v.resent} windows re-sent on request)"
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


def count_twice(tally: VesselTally, *, aboard: list[bytes], ashore: list[bytes]) -> None:
    """Add to ``tally`` the repeats of one topic's log aboard and its mirror ashore (``aboard``
    read after ``ashore``, so that it holds everything the mirror may hold)."""
    held, mirrored = _copies(aboard), _copies(ashore)
    tally.delivered_twice += sum(max(0, n - held.get(key, 0)) for key, n in mirrored.items())
    tally.resent += sum(n for (_, _, _, resent), n in held.items() if resent)
    tally.written_twice += sum(n - 1 for (_, _, _, again), n in held.items() if not again and n > 1)


def _copies(values: list[bytes]) -> Counter[tuple[str, str, int, bool]]:
    """How many times each record (kind, source, seq, re-sent or not) is in a log."""
    out: Counter[tuple[str, str, int, bool]] = Counter()
    for value in values:
        event = _decode(value)
        if isinstance(event, ContainerWindow):
            out[(event.kind, event.source, event.seq, event.resent)] += 1
        elif isinstance(event, Alert):
            out[(event.kind, event.source, event.seq, False)] += 1
    return out


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
            # Ashore first, then aboard: the vessel's log then holds all the shore's copy holds.
            ashore = read_to_end(shore_bootstrap, f"{tally.vessel}.{topic}")
            count_twice(tally, aboard=read_to_end(vessels[tally.vessel], topic), ashore=ashore)
    report = LossReport(tallies)
    for r in reader.rows("SELECT received, gaps FROM {completeness}"):
        gaps = json.loads(r[1])
        report.containers += 1
        report.readings_ashore += int(r[0])
        if gaps:
            report.containers_with_gaps += 1
            report.readings_missing += sum(b - a + 1 for a, b in gaps)
    return report
