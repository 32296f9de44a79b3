"""What the analytics accept on the fleet topics, and the dead letter of what they refuse."""

from __future__ import annotations

import pytest

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import JSON, DeadLetter, EventError, decode
from fleetedge.events import topics as t
from fleetedge.shore.admission import Source, admit, dead_letter, vessel_of

GOOD = JSON.encode(window("vessel-1", "ABCU0000001", 3))


def test_a_valid_window_is_admitted_as_its_json() -> None:
    doc = admit(t.FLEET_WINDOWS.name, GOOD)
    assert (doc["vessel_id"], doc["container_id"], doc["seq"]) == ("vessel-1", "ABCU0000001", 3)


@pytest.mark.parametrize(
    ("value", "error", "says"),
    [
        (b"", "DecodeError", "empty"),
        (b"\x00garbage\xff", "DecodeError", "not JSON"),
        (b"[1, 2]", "DecodeError", "list"),
        (JSON.encode(alert("vessel-1", "ABCU0000001", 1)), "WrongTopic", "carries reefer.window"),
        (GOOD.replace(b'"schema_version":2', b'"schema_version":9'), "UnsupportedVersion", "9"),
        (GOOD.replace(b'"seq":3', b'"seq":"three"'), "SchemaViolation", "seq"),
        (GOOD.replace(b'"cargo":"', b'"cargo":"x'), "SchemaViolation", "cargo"),
    ],
)
def test_a_malformed_record_is_refused_with_its_reason(value: bytes, error: str, says: str) -> None:
    with pytest.raises(EventError) as caught:
        admit(t.FLEET_WINDOWS.name, value)
    assert type(caught.value).__name__ == error
    assert says in caught.value.reason


def test_the_dead_letter_keeps_the_record_whole_and_is_the_same_when_made_twice() -> None:
    source = Source(t.FLEET_WINDOWS.name, 4, 17, 1_700_000_000_000)
    made = [
        dead_letter(
            "shore-analytics",
            source,
            b"\x00garbage",
            vessel=vessel_of("vessel-3/ABCU0000001"),
            error="DecodeError",
            reason="not JSON",
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]
    letter = decode(JSON.encode(made[0]))
    assert isinstance(letter, DeadLetter)
    assert (letter.vessel_id, letter.payload, letter.source_offset) == (
        "vessel-3", b"\x00garbage", 17,
    )  # fmt: skip
    assert vessel_of("\x00??") == "unknown"
