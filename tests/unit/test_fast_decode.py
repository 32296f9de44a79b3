"""The hot path's reading decoder makes exactly what the contract's decoder makes: the same
reading from every document, the same error and reason from every bad one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fleetedge.devices import VesselSimulator
from fleetedge.devices.faults import FaultKind
from fleetedge.events import BINARY, JSON, ReeferReading
from fleetedge.events.codec import decode
from fleetedge.events.exceptions import EventError
from fleetedge.events.fast import decode_reading

START = datetime(2026, 11, 1, tzinfo=UTC)


def _seeded() -> list[bytes]:
    """Readings of every cargo (cold treatment with its probes), some with faults."""
    sim = VesselSimulator("vessel-1", 60, seed=3, start=START)
    for index, kind in enumerate(FaultKind):
        sim.inject(index, kind, sim.now)
    return [JSON.encode(r) for _ in range(20) for r in sim.next_readings()]


def _same(data: bytes) -> None:
    """decode_reading(data) is decode(data): equal readings with the same fields set, or the
    same error type, field and reason."""
    refused: EventError | None = None
    try:
        expected = decode(data)
    except EventError as exc:
        refused = exc
    if refused is not None:
        with pytest.raises(type(refused)) as info:
            decode_reading(data)
        assert (info.value.reason, info.value.field) == (refused.reason, refused.field)
        return
    got = decode_reading(data)
    assert got == expected
    assert type(got) is type(expected)
    assert got.model_fields_set == expected.model_fields_set
    assert JSON.encode(got) == JSON.encode(expected)


def test_every_seeded_reading_decodes_as_the_contract_does() -> None:
    readings = _seeded()
    treated = [r for r in readings if b'"treatment":true' in r]
    assert treated, "the seeded fleet has a cold-treatment box with its probes"
    for data in readings:
        _same(data)


def _variant(**changes: object) -> bytes:
    document = json.loads(JSON.encode(decode(_seeded()[0])))
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "data",
    [
        _variant(supply_air_c=12.345),  # rounded by the contract: the slow path rounds it
        _variant(lat=1.23456789),
        _variant(seq=3.0),  # an integral float the contract takes as an int
        _variant(event_time="2026-11-01T01:00:00.123456+01:00"),  # converted, truncated
        _variant(event_time="2026-11-01T00:00:00"),  # no zone: refused
        _variant(power_on="yes"),
        _variant(extra=1),
        _variant(seq=0),
        _variant(container_id="ABCD1234567\n"),
        _variant(cargo="gold"),
        _variant(schema_version=3),
        _variant(pulp_c=[1.0]),  # probes in a version 1 document: refused
        _variant(schema_version=2, pulp_c=[1.0, None], treatment=True),
        _variant(alarm_codes=list(range(17))),
        b"not json",
        b'{"kind":"reefer.reading"}',
        b"[1, 2]",
        JSON.encode(decode(_seeded()[0])).replace(b'"supply_air_c":', b'"supply_air_c":NaN,"x":'),
        BINARY.encode(decode(_seeded()[0])),
    ],
)
def test_an_unusual_document_gets_the_contracts_answer(data: bytes) -> None:
    _same(data)


def test_the_fast_path_takes_the_common_document() -> None:
    """Not a fallback in disguise: a document as written decodes without pydantic."""
    data, rounded = _seeded()[0], _variant(supply_air_c=12.345)
    before = ReeferReading.model_validate_json
    calls: list[bytes] = []

    def counting(raw: bytes | str) -> ReeferReading:
        calls.append(raw if isinstance(raw, bytes) else raw.encode())
        return before(raw)

    ReeferReading.model_validate_json = counting  # type: ignore[method-assign,assignment]
    try:
        decode_reading(data)
        decode_reading(rounded)
    finally:
        ReeferReading.model_validate_json = before  # type: ignore[method-assign]
    assert len(calls) == 1, "only the document needing a rounding went through pydantic"
