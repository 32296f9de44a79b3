"""The API over a real read model (an edge run of a simulated vessel, projected into SQLite):
reads answer from it, write endpoints need the operator token, and a property-based run of
schemathesis against the published OpenAPI document finds no server error and no answer that
breaks its own schema."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fleetedge.api import ReadModel
from fleetedge.api.app import create_app
from fleetedge.exceptions import FleetEdgeError
from fleetedge.security.tokens import TokenBook
from tests.support.api import WRITES, RecordedOperations, projected_vessel


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return projected_vessel(tmp_path_factory.mktemp("api") / "fleet.db")


@pytest.fixture(scope="module")
def operations() -> RecordedOperations:
    return RecordedOperations()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> TokenBook:
    return TokenBook(tmp_path_factory.mktemp("tokens") / "api-tokens.json")


@pytest.fixture(scope="module")
def tokens(book: TokenBook) -> dict[str, str]:
    """A token of each role, as their holders have them (the book keeps hashes)."""
    return {
        "operator": book.add("ops-1", "operator").get_secret_value(),
        "viewer": book.add("bridge-display", "viewer").get_secret_value(),
    }


@pytest.fixture(scope="module")
def app(database: Path, operations: RecordedOperations, book: TokenBook) -> FastAPI:
    return create_app(ReadModel(f"sqlite:///{database}"), operations, book)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def test_reads_answer_from_the_read_model(client: TestClient) -> None:
    (vessel,) = client.get("/api/vessels").json()
    assert vessel["vessel_id"] == "vessel-7"
    assert vessel["lat"] is not None
    containers = client.get("/api/vessels/vessel-7/containers").json()
    assert len(containers) == 8
    one = containers[0]["container_id"]
    history = client.get(f"/api/containers/{one}/history").json()
    # Two hours of readings make 8 quarter-hour periods; the 8th is still open (its grace
    # outlasts the last reading), so 7 windows, each one once.
    assert len(history) == 7
    assert len({w["window_start"] for w in history}) == 7
    assert [w["window_start"] for w in history] == sorted(w["window_start"] for w in history)
    assert client.get(f"/api/containers/{one}").json()["vessel_id"] == "vessel-7"
    assert client.get("/api/containers/NOPE0000000").status_code == 404
    assert client.get("/api/health").json() == {"status": "ok", "generation": 1}
    (link,) = client.get("/api/link").json()
    assert link["vessel_id"] == "vessel-7"
    assert link["link"]["state"] is None, "no link report was projected in this read model"


def test_the_dashboard_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "FleetEdge" in page.text
    for asset in ("app.js", "app.css", "world.svg"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert "http" not in client.get("/static/app.js").text.replace("http://www.w3.org", "")


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_write_endpoints_need_an_operator(
    client: TestClient,
    operations: RecordedOperations,
    tokens: dict[str, str],
    path: str,
    body: Any,
) -> None:
    calls = len(operations.calls)
    assert client.post(path, json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post(path, json=body, headers=wrong).status_code == 401
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.post(path, json=body, headers=viewer).status_code == 403
    assert len(operations.calls) == calls, "an unauthorised request reached the fleet"
    right = {"Authorization": f"Bearer {tokens['operator']}"}
    assert client.post(path, json=body, headers=right).status_code in (200, 202)
    assert len(operations.calls) == calls + 1


def test_the_token_book_keeps_hashes_only(book: TokenBook, tokens: dict[str, str]) -> None:
    assert book.path is not None
    stored = book.path.read_text()
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
    for token in tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert book.role_of(tokens["viewer"]) == "viewer"
    assert book.revoke("bridge-display")
    assert book.role_of(tokens["viewer"]) is None
    book.add("bridge-display", "viewer")  # a new token: the old one stays refused
    assert book.role_of(tokens["viewer"]) is None


def test_the_published_openapi_holds(app: FastAPI, tokens: dict[str, str]) -> None:
    """Every operation but the endless event stream, 30 generated requests each."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {tokens['operator']}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        if operation.path == "/api/stream":
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def holds(case: Any) -> None:
            # Refused (422) by design, what a schema cannot say: a well-formed command for a
            # container that is not aboard; a report whose `to` is not after its `from`.
            by_design = (
                "/api/commands",
                "/api/reports/summary",
                "/api/containers/{container_id}/report",
            )
            refused = [positive_data_acceptance] if case.path in by_design else []
            case.call_and_validate(headers=auth, excluded_checks=refused)

        holds()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 15, checked


class _BrokerBusy(FleetEdgeError):
    retriable = True


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_BrokerBusy("the shore's coordinator is loading"), 503),
        (FleetEdgeError("the vessel's connector is refused"), 409),
    ],
)
def test_a_retriable_error_is_503_with_retry_after_and_a_refusal_409(
    client: TestClient,
    operations: RecordedOperations,
    tokens: dict[str, str],
    error: FleetEdgeError,
    code: int,
) -> None:
    operations.fail_with = error
    try:
        answer = client.post(
            "/api/commands/backfill",
            json={"vessel": "vessel-7"},
            headers={"Authorization": f"Bearer {tokens['operator']}"},
        )
    finally:
        operations.fail_with = None
    assert answer.status_code == code
    assert answer.json()["detail"] == error.message
    assert ("retry-after" in answer.headers) is (code == 503)


def test_an_unknown_service_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.post(
        "/api/chaos/kill-service",
        json={"name": "no-such-service"},
        headers={"Authorization": f"Bearer {tokens['operator']}"},
    )
    assert answer.status_code == 404
    assert answer.json()["hint"] == "see GET /api/processes"
