"""The command endpoints over a real read model: who may send, what is refused before anything
is sent (and how the refusal names its field), and the lifecycle read back from the events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from fleetedge.api import ReadModel
from fleetedge.api.app import create_app
from fleetedge.events import JSON, Command, CommandAck
from fleetedge.events import topics as t
from fleetedge.events.vessel import CommandAction, CommandStatus
from fleetedge.projections import ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.sqlite import SqliteDatabase
from fleetedge.security.tokens import TokenBook
from tests.support.api import RecordedOperations

NOW = datetime.now(UTC).replace(microsecond=0)


def window(container: str, cargo: str, vessel: str = "vessel-7") -> bytes:
    start = NOW - timedelta(minutes=15)
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()), "vessel_id": vessel, "container_id": container,
            "seq": 1, "event_time": NOW.isoformat(), "window_start": start.isoformat(),
            "window_end": NOW.isoformat(), "count": 15, "first_seq": 1, "last_seq": 15,
            "cargo": cargo, "setpoint_c": -20.0, "supply_min_c": -21.0, "supply_max_c": -19.0,
            "supply_mean_c": -20.0, "return_min_c": -20.5, "return_max_c": -19.5,
            "return_mean_c": -20.0, "mean_power_kw": 3.0, "seconds_out_of_range": 0,
            "seconds_door_open": 0, "seconds_defrost": 0, "seconds_power_off": 0,
            "state": "ok", "lat": 1.0, "lon": 2.0,
        }
    )  # fmt: skip


def command(action: CommandAction, expires: datetime, **params: float) -> Command:
    return Command(
        event_id=uuid.uuid4(), vessel_id="vessel-7", event_time=NOW, seq=1,
        command_id=uuid.uuid4(), action=action, container_id="FROZ0000001", params=params,
        issued_by="ops-1", expires_at=expires,
    )  # fmt: skip


def ack(c: Command, status: CommandStatus, after_s: int, reason: str) -> bytes:
    answer = CommandAck(
        event_id=uuid.uuid4(),
        vessel_id="vessel-7",
        event_time=NOW + timedelta(seconds=after_s),
        seq=1,
        command_id=c.command_id,
        status=status,
        container_id=c.container_id,
        reason=reason,
    )
    return JSON.encode(answer)


@pytest.fixture(scope="module")
def history() -> dict[str, Command]:
    return {
        "applied": command(CommandAction.SET_SETPOINT, NOW + timedelta(hours=6), setpoint_c=-22.0),
        "pending": command(CommandAction.DEFROST, NOW + timedelta(hours=6)),
        "lapsed": command(CommandAction.DEFROST, NOW - timedelta(seconds=1)),
    }


@pytest.fixture(scope="module")
def operations() -> RecordedOperations:
    return RecordedOperations()


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    history: dict[str, Command],
    operations: RecordedOperations,
) -> TestClient:
    path = tmp_path_factory.mktemp("api-commands") / "fleet.db"
    db = SqliteDatabase(path)
    gen = ensure_projection(db)
    applied = history["applied"]
    records = [
        (t.FLEET_WINDOWS.name, window("FROZ0000001", "frozen")),
        (t.FLEET_WINDOWS.name, window("CHIL0000001", "chilled")),
        *((t.FLEET_COMMAND_LOG.name, JSON.encode(c)) for c in history.values()),
        # The applied answer is projected before the delivery: the steps still come in order.
        (t.FLEET_ACKS.name, ack(applied, CommandStatus.SUCCEEDED, 9, "setpoint -20 → -22 °C")),
        (t.FLEET_ACKS.name, ack(applied, CommandStatus.ACCEPTED, 4, "delivered aboard")),
        (t.FLEET_ACKS.name, ack(applied, CommandStatus.ACCEPTED, 7, "delivered again")),
    ]
    with db.transaction() as cur:
        assert projection_rows.write(cur, gen, records) == 0
    db.close()
    book = TokenBook(path.parent / "tokens.json")
    client = TestClient(create_app(ReadModel(f"sqlite:///{path}"), operations, book))
    TOKENS["operator"] = book.add("ops-1", "operator").get_secret_value()
    TOKENS["viewer"] = book.add("bridge", "viewer").get_secret_value()
    return client


TOKENS: dict[str, str] = {}
Reply = tuple[int, dict[str, Any]]


def send(client: TestClient, role: str | None, **body: object) -> Reply:
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
    r = client.post("/api/commands", json=body, headers=headers)
    return r.status_code, r.json()


def issued(operations: RecordedOperations) -> int:
    return sum(1 for call in operations.calls if call[0] == "issue")


SETPOINT = {"vessel": "vessel-7", "container_id": "FROZ0000001", "action": "set_setpoint"}


def test_only_an_operator_may_send_and_a_viewer_gets_403(
    client: TestClient, operations: RecordedOperations
) -> None:
    assert send(client, None, **SETPOINT, setpoint_c=-22)[0] == 401
    assert send(client, "viewer", **SETPOINT, setpoint_c=-22)[0] == 403
    assert send(client, "viewer", **SETPOINT, setpoint_c=99)[0] == 403, "role before body"
    assert issued(operations) == 0
    code, body = send(client, "operator", **SETPOINT, setpoint_c=-22, ttl_s=600)
    assert code == 202, body
    assert body["status"] == "requested"
    assert body["issued_by"] == "ops-1"
    assert body["params"] == {"setpoint_c": -22.0}
    expires = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
        body["requested_at"]
    )
    assert expires == timedelta(seconds=600)
    assert issued(operations) == 1


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({**SETPOINT, "setpoint_c": 45}, "setpoint_c", "unit's range"),
        ({**SETPOINT, "setpoint_c": 4}, "setpoint_c", "frozen cargo allows"),
        ({**SETPOINT}, "setpoint_c", "needs a setpoint_c"),
        ({**SETPOINT, "setpoint_c": "cold"}, "setpoint_c", "number"),
        ({**SETPOINT, "action": "self_destruct"}, "action", ""),
        ({**SETPOINT, "setpoint_c": -22, "container_id": "NOPE0000009"}, "container_id", "no "),
        ({**SETPOINT, "setpoint_c": -22, "vessel": "vessel-2"}, "container_id", "aboard vessel-7"),
        ({**SETPOINT, "setpoint_c": -22, "ttl_s": 1}, "ttl_s", ""),
        ({**SETPOINT, "setpoint_c": -22, "ttl_s": 30 * 86400}, "ttl_s", ""),
    ],
)
def test_bad_parameters_get_422_naming_the_field_and_nothing_is_sent(
    client: TestClient,
    operations: RecordedOperations,
    body: dict[str, object],
    field: str,
    says: str,
) -> None:
    before = issued(operations)
    code, reply = send(client, "operator", **body)
    assert code == 422, reply
    [problem] = reply["detail"]
    assert problem["loc"][-1] == field, problem
    assert says in problem["msg"], problem
    assert issued(operations) == before


def test_a_flood_for_one_container_is_refused_with_429(
    client: TestClient, operations: RecordedOperations
) -> None:
    defrost = {"vessel": "vessel-7", "container_id": "CHIL0000001", "action": "defrost"}
    codes = [send(client, "operator", **defrost)[0] for _ in range(6)]
    assert codes == [202] * 5 + [429]
    assert send(client, "operator", **SETPOINT, setpoint_c=-21)[0] == 202, "others go on"


def test_the_lifecycle_reads_back_in_order_with_times_and_reasons(
    client: TestClient, history: dict[str, Command]
) -> None:
    listed = client.get("/api/commands", params={"container": "FROZ0000001"}).json()
    by_id = {c["command_id"]: c for c in listed}
    applied = by_id[str(history["applied"].command_id)]
    assert applied["status"] == "applied"
    assert [(s["step"], s["reason"]) for s in applied["steps"]] == [
        ("requested", None),
        ("delivered", "delivered aboard"),
        ("applied", "setpoint -20 → -22 °C"),
    ]
    assert by_id[str(history["pending"].command_id)]["status"] == "requested"
    lapsed = by_id[str(history["lapsed"].command_id)]
    assert lapsed["status"] == "expired", "past its expiry and never delivered"
    assert [s["step"] for s in lapsed["steps"]] == ["requested"]
    assert client.get("/api/commands", params={"vessel": "vessel-2"}).json() == []
