"""The edge's outputs on a seeded scenario are what they were, byte for byte as JSON, before its
hot path was made faster (the fast reading decoder, windows without a throwaway start state, the
changelog written with orjson, a reading's time and window worked out once, the rules'
conditions decided before their evidence is built, the windows written in the link's compact
layout and the status in the binary encoding): windows, alerts, vessel status and dead letters
with their reasons, in order. A window or a status enters the digest as its JSON, decoded from
what the edge wrote, so the digest says the events are the same whatever the encoding."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from fleetedge.devices import VesselSimulator
from fleetedge.devices.faults import FaultKind
from fleetedge.edge.logic import EdgeLogic
from fleetedge.edge.state import ChangelogState
from fleetedge.events import BINARY, JSON, ReadingValidator, compact, decode

# sha256 of the outputs below, computed with the edge as of 739401b (before the fast path).
# If you change the simulator or an output on purpose, recompute it and say so in the commit.
BEFORE = "ff78189097a9f87702b44356e10be8cd6c26e1d4dadd74a08d5bce520f85f55d"


def _scenario() -> list[bytes]:
    """Two simulated hours of 100 reefers with every fault kind, and now and then a record that
    is not JSON, one without fields, a duplicate, a negative seq, a value to round, an unknown
    container, an integral float seq and a time in another zone."""
    sim = VesselSimulator("vessel-1", 100, seed=7, start=datetime(2026, 11, 1, tzinfo=UTC))
    kinds = list(FaultKind)
    values: list[bytes] = []
    for minute in range(120):
        if minute % 9 == 2:
            kind = kinds[(minute // 9) % len(kinds)]
            sim.inject((minute * 37) % 100, kind, sim.now, timedelta(minutes=20), 5.0)
        batch = [JSON.encode(r) for r in sim.next_readings()]
        values += batch
        if minute % 7 == 3:
            values += [b"not json", b'{"kind":"reefer.reading"}', batch[0]]
            values.append(batch[1].replace(b'"seq":', b'"seq":-'))
            changes: list[dict[str, object]] = [
                {"supply_air_c": 12.345},
                {"container_id": "ZZZZ9999999"},
                {"seq": 1.0},
                {"event_time": "2026-11-01T01:00:00.123456+01:00"},
            ]
            for index, change in enumerate(changes):
                document = json.loads(batch[2 + index])
                values.append(json.dumps({**document, **change}).encode())
    return values


def test_the_outputs_of_a_seeded_scenario_are_unchanged() -> None:
    values = _scenario()
    sim_ids = VesselSimulator(
        "vessel-1", 100, seed=7, start=datetime(2026, 11, 1, tzinfo=UTC)
    ).container_ids
    validator = ReadingValidator("vessel-1", sim_ids, max_future=timedelta(days=36500))
    logic = EdgeLogic("vessel-1", validator)
    state = ChangelogState()
    digest = hashlib.sha256()
    topics: dict[str, int] = {}
    for offset, value in enumerate(values):
        for out in logic.handle(state, value, 0, offset):
            written = out.value
            if out.topic == "reefer.aggregates":
                assert written.startswith(compact.MAGIC), written[:40]
                written = JSON.encode(decode(written))
            elif out.topic == "vessel.status":
                assert BINARY.decode(written)
                written = JSON.encode(decode(written))
            digest.update(repr((out.topic, out.key, written, out.headers)).encode())
            topics[out.topic] = topics.get(out.topic, 0) + 1
        if offset % 1000 == 999:
            state.drain()
    # Every kind of output is in the digest.
    assert set(topics) == {
        "reefer.aggregates", "reefer.alerts", "vessel.status", "reefer.telemetry.dlq",
    }, topics  # fmt: skip
    assert digest.hexdigest() == BEFORE, topics
