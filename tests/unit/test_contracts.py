"""The event contracts: encodings round-trip, written schemas agree with the code and bite."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetedge.events import (
    BINARY,
    EVENT_TYPES,
    JSON,
    Alert,
    AlertKind,
    AlertState,
    Cargo,
    Command,
    CommandAck,
    CommandAction,
    CommandStatus,
    Compressor,
    ContainerWindow,
    DeadLetter,
    Event,
    LinkReport,
    LinkState,
    ReeferReading,
    Severity,
    VesselStatus,
    decode,
)
from fleetedge.events import docs as event_docs
from fleetedge.events.exceptions import (
    DecodeError,
    SchemaViolation,
    UnknownEventType,
    UnsupportedVersion,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
T0 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
COMMON: dict[str, Any] = {"vessel_id": "vessel-1", "event_time": T0, "seq": 1}


def reading(**changes: Any) -> ReeferReading:
    fields: dict[str, Any] = {
        **COMMON,
        "container_id": "FEXU0000001",
        "bay": 3,
        "cargo": Cargo.FROZEN,
        "setpoint_c": -20,
        "supply_air_c": -21.5,
        "return_air_c": -19.87,
        "ambient_c": 27.1,
        "humidity_pct": 61.5,
        "co2_pct": 0.04,
        "o2_pct": 20.91,
        "power_kw": 3.42,
        "power_on": True,
        "compressor": Compressor.RUNNING,
        "defrost": False,
        "door_open": False,
        "alarm_codes": (),
        "lat": -2.28,
        "lon": -79.91,
    }
    fields.update(changes)
    return ReeferReading(**fields)


EXAMPLES: list[Event] = [
    reading(),
    ContainerWindow(
        **COMMON,
        container_id="FEXU0000001",
        cargo=Cargo.CHILLED,
        window_start=T0,
        window_end=T0 + timedelta(minutes=15),
        count=14,
        first_seq=1,
        last_seq=15,
        gaps=((7, 7),),
        setpoint_c=2,
        supply_min_c=0.5,
        supply_max_c=1.2,
        supply_mean_c=0.9,
        return_min_c=1.8,
        return_max_c=2.4,
        return_mean_c=2.05,
        mean_power_kw=2.2,
        seconds_out_of_range=0,
        seconds_door_open=0,
        seconds_defrost=300,
        seconds_power_off=0,
        lat=10.5,
        lon=-30.25,
    ),
    Alert(
        **COMMON,
        alert_id=uuid.uuid4(),
        alert_kind=AlertKind.BAY_POWER_INCIDENT,
        severity=Severity.CRITICAL,
        state=AlertState.CLEARED,
        bay=12,
        raised_at=T0,
        cleared_at=T0 + timedelta(minutes=40),
        summary="bay 12: 38 reefers lost power",
        evidence={"containers": 38, "first_seen": "2026-11-01T06:30:00Z", "max_rise_c": 0.8},
    ),
    VesselStatus(
        **COMMON,
        containers_total=200,
        containers_ok=190,
        containers_alarm=8,
        containers_silent=2,
        reefer_power_kw=612.5,
        lat=10.5,
        lon=-30.25,
        open_alerts=3,
        edge_lag_records=12,
        edge_healthy=True,
    ),
    Command(
        **COMMON,
        command_id=uuid.uuid4(),
        action=CommandAction.RESEND,
        container_id="FEXU0000001",
        params={"from_seq": 100, "to_seq": 140},
        issued_by="shore/completeness",
        expires_at=T0 + timedelta(days=2),
    ),
    CommandAck(**COMMON, command_id=uuid.uuid4(), status=CommandStatus.SUCCEEDED),
    DeadLetter(
        **COMMON,
        service="edge",
        reason="field 'humidity_pct' must be <= 100",
        error="SchemaViolation",
        field="humidity_pct",
        source_topic="reefer.telemetry",
        source_partition=2,
        source_offset=991,
        payload=b"\x00\xff{not json",
    ),
    LinkReport(
        **COMMON,
        state=LinkState.DEGRADED,
        backlog_records=5120,
        backlog_bytes=1_843_200,
        oldest_unmirrored_s=412.5,
        heartbeat_age_s=3.2,
        seconds_to_drain=96.0,
        lost_to_retention=0,
    ),
]


def test_every_contract_has_an_example_here() -> None:
    assert {type(e) for e in EXAMPLES} == set(EVENT_TYPES)
    assert len({cls.TYPE_ID for cls in EVENT_TYPES}) == len(EVENT_TYPES)
    assert len({cls.KIND for cls in EVENT_TYPES}) == len(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.KIND)
@pytest.mark.parametrize("codec", [JSON, BINARY], ids=lambda c: c.name)
def test_every_event_round_trips_through_each_encoding(event: Event, codec: Any) -> None:
    data = codec.encode(event)
    assert codec.decode(data) == event
    assert decode(data) == event


def test_binary_is_smaller_than_json_for_every_event() -> None:
    for event in EXAMPLES:
        assert len(BINARY.encode(event)) < len(JSON.encode(event)) / 2, event.KIND


def test_the_written_schemas_and_asyncapi_match_the_code() -> None:
    assert event_docs.stale(DOCS) == [], "run `fleet events docs` and commit docs/"


def _schema(cls: type[Event]) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (DOCS / "schemas" / event_docs.schema_file(cls)).read_text()
    )
    return schema


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.KIND)
def test_the_written_schema_accepts_the_event_and_rejects_a_missing_field_or_wrong_type(
    event: Event,
) -> None:
    schema = _schema(type(event))
    validator = jsonschema.Draft202012Validator(schema)
    document = json.loads(JSON.encode(event))
    validator.validate(document)

    missing = {k: v for k, v in document.items() if k != "seq"}
    with pytest.raises(jsonschema.ValidationError, match="'seq' is a required property"):
        validator.validate(missing)
    wrong_type = {**document, "seq": "one"}
    with pytest.raises(jsonschema.ValidationError, match="is not of type 'integer'"):
        validator.validate(wrong_type)
    extra = {**document, "surprise": 1}
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        validator.validate(extra)


def test_the_reading_schema_rejects_impossible_values() -> None:
    validator = jsonschema.Draft202012Validator(_schema(ReeferReading))
    document = json.loads(JSON.encode(reading()))
    with pytest.raises(jsonschema.ValidationError, match="greater than the maximum"):
        validator.validate({**document, "humidity_pct": 300})
    with pytest.raises(jsonschema.ValidationError, match="is not one of"):
        validator.validate({**document, "cargo": "gold"})


# -- property-based: any valid event survives both encodings ---------------------------------

centi = st.integers(-2000, 2000).map(lambda n: n / 100)
instants = st.datetimes(
    # hypothesis takes naive bounds and attaches the timezone itself
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)

readings = st.builds(
    reading,
    seq=st.integers(1, 2**40),
    event_time=instants,
    event_id=st.uuids(),
    container_id=st.from_regex(r"\A[A-Z]{4}[0-9]{7}\Z"),
    bay=st.integers(0, 200),
    cargo=st.sampled_from(Cargo),
    setpoint_c=centi,
    supply_air_c=centi,
    return_air_c=st.floats(-70, 70, allow_nan=False),
    humidity_pct=st.floats(0, 100, allow_nan=False),
    power_kw=st.floats(0, 25, allow_nan=False),
    compressor=st.sampled_from(Compressor),
    defrost=st.booleans(),
    door_open=st.booleans(),
    alarm_codes=st.lists(st.integers(0, 999), max_size=16).map(tuple),
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
)
alerts = st.builds(
    Alert,
    vessel_id=st.from_regex(r"\A[a-z][a-z0-9-]{0,31}\Z"),
    event_time=instants,
    seq=st.integers(1, 2**40),
    alert_id=st.uuids(),
    alert_kind=st.sampled_from(AlertKind),
    severity=st.sampled_from(Severity),
    state=st.sampled_from(AlertState),
    container_id=st.none() | st.from_regex(r"\A[A-Z]{4}[0-9]{7}\Z"),
    raised_at=instants,
    cleared_at=st.none() | instants,
    summary=st.text(max_size=200),
    evidence=st.dictionaries(
        st.text(max_size=10), st.integers(-(2**40), 2**40) | st.text(max_size=20), max_size=5
    ),
)
dead_letters = st.builds(
    DeadLetter,
    **{k: st.just(v) for k, v in COMMON.items()},
    service=st.text(min_size=1, max_size=64),
    reason=st.text(min_size=1, max_size=200),
    error=st.just("DecodeError"),
    source_topic=st.just("reefer.telemetry"),
    source_partition=st.integers(0, 100),
    source_offset=st.integers(0, 2**50),
    payload=st.binary(max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(event=st.one_of(readings, alerts, dead_letters))
def test_any_valid_event_round_trips_through_both_encodings(event: Event) -> None:
    assert JSON.decode(JSON.encode(event)) == event
    assert BINARY.decode(BINARY.encode(event)) == event


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_decoder(data: bytes) -> None:
    # Only EventErrors may come out: anything else would crash a consumer instead of dead-lettering.
    with contextlib.suppress(DecodeError, SchemaViolation, UnknownEventType, UnsupportedVersion):
        decode(data)


def test_decoding_errors_name_the_problem() -> None:
    with pytest.raises(DecodeError, match="empty record"):
        decode(b"")
    with pytest.raises(DecodeError, match="not JSON"):
        decode(b"{oops")
    with pytest.raises(UnknownEventType, match=r"unknown event kind 'ship\.sank'"):
        decode(b'{"kind": "ship.sank"}')
    newer = json.loads(JSON.encode(reading()))
    newer["schema_version"] = 3
    with pytest.raises(UnsupportedVersion, match="schema_version 3; this code reads 1 to 2"):
        decode(json.dumps(newer).encode())


def test_msgpack_that_is_no_event_is_a_decode_error() -> None:
    # A map keyed by a list: msgpack itself raises TypeError on it.
    with pytest.raises(DecodeError, match="not msgpack"):
        decode(b"\x81\x91\x01\x02")
