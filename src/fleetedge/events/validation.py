"""Checks a record must pass beyond its schema: a known source and a believable time.

The schema (pydantic model) already rejects missing fields, wrong types, NaN and values out of
their physical range; :class:`ReadingValidator` adds what needs context.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from fleetedge.events.base import Event
from fleetedge.events.exceptions import ImplausibleEvent
from fleetedge.events.fast import decode_reading
from fleetedge.events.telemetry import ReeferReading

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReadingValidator:
    """Decode and check telemetry from a vessel's devices.

    ``known_containers`` is the vessel's manifest of reefers; ``max_future`` bounds clock skew
    (a reading from further ahead than that is a broken device clock, not a fast one).
    """

    def __init__(
        self,
        vessel_id: str,
        known_containers: Collection[str],
        *,
        clock: Clock = _utc_now,
        max_future: timedelta = timedelta(minutes=5),
    ) -> None:
        self.vessel_id = vessel_id
        self.known_containers = frozenset(known_containers)
        self.clock = clock
        self.max_future = max_future

    def parse(self, data: bytes) -> ReeferReading:
        """The reading in ``data``, or an EventError saying why it is not acceptable."""
        return self.check(decode_reading(data))

    def check(self, event: Event) -> ReeferReading:
        if not isinstance(event, ReeferReading):
            raise ImplausibleEvent(f"a {event.KIND} where a reefer reading belongs", field="kind")
        if event.vessel_id != self.vessel_id:
            raise ImplausibleEvent(
                f"reading of vessel {event.vessel_id!r} arrived on {self.vessel_id!r}",
                field="vessel_id",
            )
        if event.container_id not in self.known_containers:
            raise ImplausibleEvent(
                f"container {event.container_id} is not on {self.vessel_id}'s reefer manifest",
                field="container_id",
            )
        ahead = event.event_time - self.clock()
        if ahead > self.max_future:
            raise ImplausibleEvent(
                f"event_time {event.event_time.isoformat()} is {ahead} ahead of the vessel clock "
                f"(at most {self.max_future} allowed)",
                field="event_time",
            )
        return event
