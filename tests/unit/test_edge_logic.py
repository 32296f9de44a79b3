"""The edge's per-record decisions: late, duplicate, far-future and hostile records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fleetedge.devices import FaultRates, VesselSimulator
from fleetedge.edge.logic import EdgeLogic, Output
from fleetedge.edge.store import DictStore
from fleetedge.edge.windows import WindowConfig
from fleetedge.events import (
    JSON,
    ContainerWindow,
    DeadLetter,
    ReadingValidator,
    ReeferReading,
    decode,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
VESSEL = "vessel-6"


def _setup(containers: int = 3) -> tuple[VesselSimulator, EdgeLogic, DictStore]:
    sim = VesselSimulator(VESSEL, containers, seed=2, start=T0, rates=FaultRates.none())
    validator = ReadingValidator(VESSEL, sim.container_ids, max_future=timedelta(days=36500))
    window = WindowConfig(size=timedelta(minutes=15), grace=timedelta(minutes=5))
    return sim, EdgeLogic(VESSEL, validator, window=window), DictStore()


def _feed(logic: EdgeLogic, store: DictStore, readings: list[ReeferReading]) -> list[Output]:
    out: list[Output] = []
    for offset, reading in enumerate(readings):
        out += logic.handle(store, JSON.encode(reading), 0, offset)
    return out


def _windows(out: list[Output], container: str) -> list[ContainerWindow]:
    events = [decode(o.value) for o in out if o.topic == "reefer.aggregates"]
    return [w for w in events if isinstance(w, ContainerWindow) and w.container_id == container]


def _letters(out: list[Output]) -> list[tuple[str, DeadLetter]]:
    result = []
    for o in out:
        if o.topic == "reefer.telemetry.dlq":
            letter = decode(o.value)
            assert isinstance(letter, DeadLetter)
            result.append((dict(o.headers)["reason"].decode(), letter))
    return result


def test_a_late_reading_within_grace_counts_and_beyond_grace_is_kept_as_late() -> None:
    sim, logic, store = _setup()
    readings = [r for _ in range(40) for r in sim.next_readings()]
    target = sim.container_ids[0]
    held_back = next(r for r in readings if r.container_id == target and r.seq == 10)
    in_order = [r for r in readings if r is not held_back]
    # Minute 18: past the end of window 0-15, within its 5-minute grace.
    cut = next(i for i, r in enumerate(in_order) if r.event_time > T0 + timedelta(minutes=18))
    out = _feed(logic, store, [*in_order[:cut], held_back, *in_order[cut:]])
    assert _windows(out, target)[0].count == 14
    assert _windows(out, target)[0].gaps == ()
    assert _letters(out) == []

    out = _feed(logic, store, [held_back])  # now the window is long closed
    [(reason, letter)] = _letters(out)
    assert reason.startswith("late: window 2026-11-01T00:00:00+00:00")
    assert letter.error == "Late"
    assert letter.payload == JSON.encode(held_back)
    assert logic.counters.late == 1


def test_duplicates_far_future_and_hostile_bytes_are_dead_lettered_and_change_nothing() -> None:
    sim, clean_logic, clean_store = _setup()
    readings = [r for _ in range(40) for r in sim.next_readings()]
    clean = _feed(clean_logic, clean_store, readings)

    _, logic, store = _setup()
    future = readings[5].model_copy(update={"event_time": T0 + timedelta(days=30)})
    document = json.loads(JSON.encode(readings[6]))
    hostile = [
        JSON.encode(readings[3]),  # a duplicate, its window still open
        JSON.encode(future),
        b"\x00\xffnot an event",
        json.dumps({**document, "humidity_pct": 300}).encode(),
        json.dumps({**document, "container_id": "ZZZU0000001"}).encode(),
    ]
    out: list[Output] = []
    for offset, reading in enumerate(readings):
        out += logic.handle(store, JSON.encode(reading), 0, offset)
        if offset == 20:
            for extra, value in enumerate(hostile):
                out += logic.handle(store, value, 0, 1000 + extra)
    kept = [o for o in out if o.topic != "reefer.telemetry.dlq"]
    valid_out = [o for o in clean if o.topic != "reefer.telemetry.dlq"]
    assert [(o.topic, o.value) for o in kept] == [(o.topic, o.value) for o in valid_out]
    reasons = [reason for reason, _ in _letters(out)]
    assert len(reasons) == 5
    assert reasons[0].startswith("duplicate of")
    assert "ahead of the vessel's event time" in reasons[1]
    assert "not msgpack" in reasons[2]
    assert "less than or equal to 100" in reasons[3]
    assert "not on vessel-6's reefer manifest" in reasons[4]
    assert [letter.source_offset for _, letter in _letters(out)] == [1000, 1001, 1002, 1003, 1004]
