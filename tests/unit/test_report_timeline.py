"""The report's timeline: an excursion over windows equally far off the setpoint is told
(two windows of a reefer without power have the same return-air extremes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleetedge.reports.record import Window
from fleetedge.reports.timeline import episodes

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SLOTS = 15  # a 15-minute window of one-minute slots


def _window(seq: int) -> Window:
    start = T0 + timedelta(minutes=15 * seq)
    every = (1 << SLOTS) - 1
    return Window(
        seq=seq, start=start, end=start + timedelta(minutes=15), readings=SLOTS,
        first_seq=SLOTS * seq + 1, last_seq=SLOTS * (seq + 1), setpoint_c=-0.5,
        supply_min_c=8.0, supply_max_c=8.0, supply_mean_c=8.0,
        return_min_c=8.0, return_max_c=9.0, return_mean_c=8.5,
        seconds={"out_of_range": 900, "door_open": 0, "defrost": 0, "power_off": 900},
        slot_s=60,
        masks={"out_of_range": every, "door_open": 0, "defrost": 0, "power_off": every,
               "reading": every},
        probes=(), treatment=False, resent=False, sent_at=None, received_at=None,
    )  # fmt: skip


def test_an_excursion_over_equally_deviating_windows_is_told() -> None:
    # Before: max() over (deviation, window) pairs compared the windows on a tie: TypeError,
    # and the API answered 500 for the container's report.
    spans = episodes([_window(0), _window(1)])
    excursion = next(s for s in spans if s.kind == "excursion")
    assert (excursion.start, excursion.end) == (T0, T0 + timedelta(minutes=30))
    assert excursion.detail == "return air up to +9.50 °C off the -0.50 °C setpoint"
