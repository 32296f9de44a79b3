"""Version 2 of the reading and the window, next to version 1: what each side of a rollout reads.

A reading without probes is still written as version 1, field for field, so a consumer built
for version 1 reads every reading of other cargo as before; readings of cold-treated fruit are
version 2, which such a consumer refuses with a clear reason (it dead-letters them). The current
code reads both versions of both events, in both encodings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import msgpack
import pytest

from fleetedge.api import ReadModel
from fleetedge.devices.synthetic import window
from fleetedge.events import BINARY, JSON, ContainerWindow, ReeferReading, decode
from fleetedge.events import topics as t
from fleetedge.events.exceptions import SchemaViolation, UnsupportedVersion
from fleetedge.events.telemetry import Cargo, Compressor
from fleetedge.projections import ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.sqlite import SqliteDatabase
from fleetedge.shore.admission import admit

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _reading(**changes: Any) -> ReeferReading:
    fields: dict[str, Any] = {
        "vessel_id": "vessel-1", "event_time": T0, "seq": 7, "container_id": "ABCU0000001",
        "bay": 3, "cargo": Cargo.CHILLED, "setpoint_c": 2.0, "supply_air_c": 1.2,
        "return_air_c": 2.4, "ambient_c": 20.0, "humidity_pct": 88.0, "co2_pct": 0.04,
        "o2_pct": 20.9, "power_kw": 2.1, "power_on": True, "compressor": Compressor.RUNNING,
        "defrost": False, "door_open": False, "lat": 51.9, "lon": 4.1,
    }  # fmt: skip
    return ReeferReading(**{**fields, **changes})


def _v1_schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.v1.json").read_text())
    return schema


def test_a_reading_without_probes_is_written_as_version_1_and_a_v1_consumer_reads_it() -> None:
    plain = _reading()
    doc = json.loads(JSON.encode(plain))
    assert doc["schema_version"] == 1
    assert "pulp_c" not in doc
    assert "treatment" not in doc
    jsonschema.validate(doc, _v1_schema("reefer.reading"))  # the contract v1 consumers hold
    packed = msgpack.unpackb(BINARY.encode(plain))
    assert packed[1] == 1
    v1_fields = len(ReeferReading.model_fields) - 2 - len(ReeferReading.SINCE)  # kind, version
    assert len(packed) == 2 + v1_fields == 24  # the v1 binary layout: its 22 fields, no more
    assert decode(BINARY.encode(plain)) == plain


def test_a_reading_with_probes_is_version_2_and_a_v1_consumer_refuses_it_clearly() -> None:
    treated = _reading(cargo=Cargo.COLD_TREATMENT, pulp_c=(0.5, None, 0.61), treatment=True)
    assert treated.schema_version == 2
    doc = json.loads(JSON.encode(treated))
    assert doc["pulp_c"] == [0.5, None, 0.61]
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate(doc, _v1_schema("reefer.reading"))
    jsonschema.validate(doc, json.loads((SCHEMAS / "reefer.reading.v2.json").read_text()))
    for encoded in (JSON.encode(treated), BINARY.encode(treated)):
        assert decode(encoded) == treated


def test_the_current_code_reads_version_1_in_both_encodings() -> None:
    plain = _reading()
    v1 = json.loads(JSON.encode(plain))
    assert decode(json.dumps(v1).encode()) == plain
    old_window = json.loads(JSON.encode(window("vessel-1", "ABCU0000001", 3)))
    for name in ContainerWindow.SINCE:
        old_window.pop(name, None)
    old_window["schema_version"] = 1
    jsonschema.validate(old_window, _v1_schema("reefer.window"))
    got = decode(json.dumps(old_window).encode())
    assert isinstance(got, ContainerWindow)
    assert (got.schema_version, got.out_of_range_slots, got.pulp_max_c) == (1, 0, ())
    assert decode(BINARY.encode(got)) == got  # written back in the v1 layout


def test_a_version_1_document_may_not_carry_version_2_fields() -> None:
    doc = json.loads(JSON.encode(_reading(cargo=Cargo.COLD_TREATMENT, pulp_c=(0.5, 0.5, 0.5))))
    doc["schema_version"] = 1
    with pytest.raises(SchemaViolation, match="pulp_c came with schema_version 2"):
        decode(json.dumps(doc).encode())
    doc["schema_version"] = 3
    with pytest.raises(UnsupportedVersion, match="reads 1 to 2"):
        decode(json.dumps(doc).encode())


def test_a_vessel_still_on_version_1_windows_is_admitted_and_projected(tmp_path: Path) -> None:
    old = json.loads(JSON.encode(window("vessel-1", "ABCU0000001", 3)))
    for name in ContainerWindow.SINCE:
        old.pop(name, None)
    old["schema_version"] = 1
    value = json.dumps(old).encode()
    assert admit(t.FLEET_WINDOWS.name, value)["seq"] == 3
    db = SqliteDatabase(tmp_path / "fleet.db")
    gen = ensure_projection(db)
    with db.transaction() as cur:
        assert projection_rows.write(cur, gen, [(t.FLEET_WINDOWS.name, value)]) == 0
    db.close()
    model = ReadModel(f"sqlite:///{tmp_path / 'fleet.db'}")
    (row,) = model.rows("SELECT seq, slot_s, out_of_range_slots, pulp, resent, received_at "
                        "FROM {container_windows}")  # fmt: skip
    assert row == (3, 60, 0, None, 0, None)
    model.close()
