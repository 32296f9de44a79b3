"""Bad readings are refused with a reason fit for a dead-letter header."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from fleetedge.events import BINARY, JSON, ReadingValidator
from fleetedge.events.exceptions import EventError, ImplausibleEvent, SchemaViolation
from tests.unit.test_contracts import T0, reading

NOW = T0 + timedelta(minutes=1)


def _validator() -> ReadingValidator:
    return ReadingValidator("vessel-1", {"FEXU0000001", "FEXU0000002"}, clock=lambda: NOW)


def _json_with(**changes: object) -> bytes:
    document = json.loads(JSON.encode(reading()))
    document.update(changes)
    return json.dumps(document).encode()


def test_a_good_reading_passes_in_either_encoding() -> None:
    good = reading()
    assert _validator().parse(JSON.encode(good)) == good
    assert _validator().parse(BINARY.encode(good)) == good


def test_a_nan_temperature_is_rejected() -> None:
    # JSON has no NaN; devices that emit one write it as Python's json does.
    data = JSON.encode(reading()).replace(b'"supply_air_c":-21.5', b'"supply_air_c":NaN')
    with pytest.raises(SchemaViolation) as info:
        _validator().parse(data)
    assert info.value.field == "supply_air_c"
    assert "finite" in info.value.reason
    with pytest.raises(ValidationError, match="finite"):
        reading(supply_air_c=float("nan"))


def test_three_hundred_percent_humidity_is_rejected() -> None:
    with pytest.raises(SchemaViolation) as info:
        _validator().parse(_json_with(humidity_pct=300))
    assert info.value.field == "humidity_pct"
    assert "less than or equal to 100" in info.value.reason
    assert "300" in info.value.reason


def test_an_unknown_container_is_rejected() -> None:
    with pytest.raises(ImplausibleEvent, match="FEXU0000009 is not on vessel-1's reefer manifest"):
        _validator().parse(JSON.encode(reading(container_id="FEXU0000009")))


def test_a_far_future_timestamp_is_rejected() -> None:
    future = reading(event_time=datetime(2031, 1, 1, tzinfo=UTC))
    with pytest.raises(ImplausibleEvent) as info:
        _validator().parse(BINARY.encode(future))
    assert info.value.field == "event_time"
    assert "ahead of the vessel clock" in info.value.reason
    # A little clock skew is tolerated.
    assert _validator().parse(JSON.encode(reading(event_time=NOW + timedelta(minutes=4))))


def test_naive_timestamps_and_other_vessels_are_rejected() -> None:
    with pytest.raises(SchemaViolation, match="timezone"):
        _validator().parse(_json_with(event_time="2026-11-01T06:30:00"))
    with pytest.raises(ImplausibleEvent, match="arrived on 'vessel-1'"):
        _validator().parse(JSON.encode(reading(vessel_id="vessel-2")))


def test_every_rejection_is_an_event_error_with_a_one_line_reason() -> None:
    for bad in (b"\x00\x01", _json_with(seq=0), _json_with(cargo="gold"), _json_with(bay=None)):
        with pytest.raises(EventError) as info:
            _validator().parse(bad)
        assert info.value.reason
        assert "\n" not in info.value.reason
