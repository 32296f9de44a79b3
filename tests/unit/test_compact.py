"""The link's compact window layout: every window the edge writes decodes to itself, any
window does (an id not derived, gaps, probes, a re-send, the shore's stamps, a version 1
window), it is a fraction of the JSON on the link, and bytes that are not the layout are
refused with a reason the normalizer dead-letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgpack
import pytest
import zstandard

from fleetedge.events import JSON, ContainerWindow, decode
from fleetedge.events.aggregates import window_id
from fleetedge.events.compact import MAGIC, pack, unpack
from fleetedge.events.exceptions import DecodeError, SchemaViolation, UnsupportedVersion
from fleetedge.shore.normalizer import Rejected, check
from tests.support.fleet import simulate

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def windows() -> list[ContainerWindow]:
    run = simulate("vessel-3", containers=40, minutes=180, seed=13)
    found = []
    for o in run.of("reefer.aggregates"):
        assert o.value.startswith(MAGIC)
        window = decode(o.value)
        assert isinstance(window, ContainerWindow)
        found.append(window)
    return found


def _window(**changes: object) -> ContainerWindow:
    base: dict[str, object] = {
        "vessel_id": "vessel-3", "event_time": T0 + timedelta(minutes=15), "seq": 4,
        "container_id": "MSCU1234567", "cargo": "frozen", "window_start": T0,
        "window_end": T0 + timedelta(minutes=15), "count": 15, "first_seq": 31, "last_seq": 45,
        "setpoint_c": -18.0, "supply_min_c": -18.62, "supply_max_c": -17.01,
        "supply_mean_c": -17.99, "return_min_c": -17.5, "return_max_c": -16.03,
        "return_mean_c": -16.77, "mean_power_kw": 3.33, "seconds_out_of_range": 120,
        "seconds_door_open": 0, "seconds_defrost": 60, "seconds_power_off": 0,
        "lat": -23.825107, "lon": -46.186298, "reading_slots": 2**15 - 1,
    }  # fmt: skip
    return ContainerWindow.model_validate({**base, **changes})


def test_every_window_of_a_simulated_voyage_decodes_to_itself(windows) -> None:
    assert len(windows) > 300
    assert any(w.seconds_out_of_range for w in windows)
    for w in windows:
        assert decode(pack(w)) == w
        # The edge's ids are the derived ones, which the layout leaves out.
        assert w.event_id == window_id(w.container_id, w.window_end - w.window_start, w.seq)


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": uuid.uuid4()},
        {"gaps": ((33, 34), (40, 40)), "count": 12},
        {"pulp_max_c": (-17.5, None, -16.25), "pulp_slots": (7, 0, 3), "treatment": True},
        {"resent": True, "event_time": T0 + timedelta(hours=2, milliseconds=7)},
        {"sent_at": T0 + timedelta(minutes=20), "received_at": T0 + timedelta(hours=3)},
        {"setpoint_c": 13.5, "supply_min_c": -69.99, "supply_max_c": 70.0, "lon": 179.999999},
        {"window_end": T0 + timedelta(minutes=60), "slot_s": 60, "out_of_range_slots": 2**62},
        {"schema_version": 1, "reading_slots": 0},
    ],
    ids=["own-id", "gaps", "probes", "resent", "stamped", "extremes", "hour", "version-1"],
)
def test_any_window_decodes_to_itself(changes: dict[str, object]) -> None:
    w = _window(**changes)
    assert decode(pack(w)) == w
    assert JSON.encode(decode(pack(w))) == JSON.encode(w)


def test_a_batch_of_them_costs_a_third_of_the_json_on_the_link(windows) -> None:
    """What Kafka's zstd makes of a batch: the layout against the JSON it replaces."""
    z = zstandard.ZstdCompressor(level=3)
    compact = len(z.compress(b"".join(pack(w) for w in windows))) / len(windows)
    json = len(z.compress(b"".join(JSON.encode(w) for w in windows))) / len(windows)
    assert compact < json / 3, (compact, json)
    assert compact < 20, compact


@pytest.mark.parametrize(
    ("data", "error", "says"),
    [
        (MAGIC, DecodeError, "layout None"),
        (MAGIC + b"\x07" + msgpack.packb([]), DecodeError, "layout 7"),
        (MAGIC + b"\x01\xc1", DecodeError, "not msgpack"),
        (MAGIC + b"\x01" + msgpack.packb([2, "vessel-3"]), DecodeError, "39 fields, got 2"),
        (MAGIC + b"\x01" + msgpack.packb({"a": 1}), DecodeError, "got dict"),
    ],
)
def test_bytes_that_are_not_the_layout_are_refused_with_a_reason(
    data: bytes, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as info:
        decode(data)
    assert says in str(info.value)


def test_fields_of_the_wrong_type_or_range_are_refused() -> None:
    good = msgpack.unpackb(pack(_window())[2:])
    wrong_type = list(good)
    wrong_type[12] = "cold"  # the setpoint
    with pytest.raises(DecodeError, match="wrong type"):
        unpack(MAGIC + b"\x01" + msgpack.packb(wrong_type))
    too_hot = list(good)
    too_hot[13] = 10_000  # the supply minimum, 100 degrees above the setpoint
    with pytest.raises(SchemaViolation, match="supply_min_c"):
        decode(MAGIC + b"\x01" + msgpack.packb(too_hot))
    unknown = list(good)
    unknown[0] = 9  # schema_version
    with pytest.raises(UnsupportedVersion):
        decode(MAGIC + b"\x01" + msgpack.packb(unknown))


def test_the_normalizer_takes_it_and_dead_letters_a_broken_one() -> None:
    w = _window()
    _, event = check("vessel-3.reefer.aggregates", pack(w))
    assert event == w
    with pytest.raises(Rejected) as info:
        check("vessel-3.reefer.aggregates", pack(w)[:-5])
    assert info.value.error == "DecodeError"
    with pytest.raises(Rejected) as info:
        check("vessel-4.reefer.aggregates", pack(w))
    assert info.value.error == "WrongVessel"
