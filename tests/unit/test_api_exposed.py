"""The API as it leaves the host: every read needs a token of either role (the metrics and
the live stream included), a session cookie set from a token serves the browser, and writes
still need an operator's token as a header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleetedge.api import ReadModel
from fleetedge.api.app import create_app
from fleetedge.api.auth import SESSION_COOKIE
from fleetedge.cli.api_cmd import check_exposure
from fleetedge.security.tokens import TokenBook
from tests.support.api import WRITES, RecordedOperations, projected_vessel

SAMPLE = {"vessel_id": "vessel-7", "container_id": "NOPE0000000"}
OPEN = ("/", "/static/app.js", "/static/app.css", "/livez", "/openapi.json", "/docs")


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> tuple[TokenBook, dict[str, str]]:
    book = TokenBook(tmp_path_factory.mktemp("tokens") / "api-tokens.json")
    held = {
        "operator": book.add("ops-1", "operator").get_secret_value(),
        "viewer": book.add("bridge-display", "viewer").get_secret_value(),
    }
    return book, held


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, tokens: tuple[TokenBook, dict[str, str]]
) -> FastAPI:
    book, _ = tokens
    database = projected_vessel(tmp_path_factory.mktemp("api") / "fleet.db")
    return create_app(
        ReadModel(f"sqlite:///{database}"),
        RecordedOperations(),
        book,
        reads_need_token=True,
        tls=True,
    )


def _reads(app: FastAPI) -> list[str]:
    """Every GET route of the published document, its path parameters filled in."""
    paths = [
        re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m[1]], path)
        for path, operations in app.openapi()["paths"].items()
        if "get" in operations
    ]
    return [*paths, "/metrics", "/metrics/"]


def test_every_read_without_a_valid_token_is_401(app: FastAPI) -> None:
    client = TestClient(app)
    reads = _reads(app)
    assert {"/api/stream", "/api/vessels", "/api/session"} - set(reads) == {"/api/session"}
    assert len(reads) >= 18, reads
    for path in reads:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers, answer.status_code)
            assert answer.headers["www-authenticate"] == "Bearer", path
        client.cookies.set(SESSION_COOKIE, "not-a-token")
        assert client.get(path).status_code == 401, path
        client.cookies.clear()


def test_what_holds_no_fleet_data_stays_open(app: FastAPI) -> None:
    client = TestClient(app)
    for path in OPEN:
        assert client.get(path).status_code == 200, path
    assert "vessel-7" not in client.get("/").text


def test_a_token_of_either_role_reads_as_a_header_or_as_a_session(
    app: FastAPI, tokens: tuple[TokenBook, dict[str, str]]
) -> None:
    _, held = tokens
    for role in ("viewer", "operator"):
        client = TestClient(app, base_url="https://testserver")
        bearer = {"Authorization": f"Bearer {held[role]}"}
        (vessel,) = client.get("/api/vessels", headers=bearer).json()
        assert vessel["vessel_id"] == "vessel-7"
        assert client.get("/metrics", headers=bearer).status_code == 200
        assert client.post("/api/session").status_code == 401
        opened = client.post("/api/session", headers=bearer)
        assert opened.status_code == 204
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}="), cookie
        for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
            assert flag.lower() in cookie.lower(), (flag, cookie)
        assert client.get("/api/vessels").status_code == 200  # the cookie alone
        assert client.get("/metrics").status_code == 200
        assert client.delete("/api/session").status_code == 204
        assert client.get("/api/vessels").status_code == 401


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_a_session_cookie_never_acts(
    app: FastAPI, tokens: tuple[TokenBook, dict[str, str]], path: str, body: object
) -> None:
    _, held = tokens
    client = TestClient(app, base_url="https://testserver")
    client.post("/api/session", headers={"Authorization": f"Bearer {held['operator']}"})
    assert client.get("/api/vessels").status_code == 200
    assert client.post(path, json=body).status_code == 401


def test_the_live_stream_opens_on_a_session(
    app: FastAPI, tokens: tuple[TokenBook, dict[str, str]]
) -> None:
    _, held = tokens
    with TestClient(app, base_url="https://testserver") as client:
        client.post("/api/session", headers={"Authorization": f"Bearer {held['viewer']}"})
        with client.stream("GET", "/api/stream") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            first = next(answer.iter_lines())
            assert first.startswith(("event:", "retry:", "data:", ":")), first


@pytest.mark.parametrize(
    ("host", "reads", "tls", "error"),
    [
        ("0.0.0.0", "open", True, "needs --reads token"),
        ("10.1.2.3", "token", False, "needs --tls-cert and --tls-key"),
        ("api.example.org", "open", True, "needs --reads token"),
    ],
)
def test_an_api_beyond_loopback_refuses_to_start_open_or_in_clear(
    tmp_path: Path, host: str, reads: str, tls: bool, error: str
) -> None:
    pem = tmp_path / "api.pem"
    pem.write_text("x")
    cert = pem if tls else None
    with pytest.raises(typer.BadParameter, match=re.escape(error)):
        check_exposure(host, reads, cert, cert)
    check_exposure("127.0.0.1", "open", None, None)
    check_exposure("::1", "open", None, None)
    check_exposure(host, "token", pem, pem)
