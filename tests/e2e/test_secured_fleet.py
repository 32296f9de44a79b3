"""The shared fleet runs secured (the default of `fleet up`): its services present their own
principals, the API's write endpoints want an operator's token, and no secret it uses shows in
its logs, its metrics or its API's answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from fleetedge.security.store import SecurityStore
from tests.support.running_fleet import RunningFleet, wait_for
from tests.support.secrets import file_texts, leaks, log_files, secrets_of

pytestmark = pytest.mark.kafka


def _post(url: str, body: object, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return str(response.read().decode(errors="replace"))


def test_the_fleet_is_secured_and_each_service_has_its_own_principal(
    running_fleet: RunningFleet,
) -> None:
    assert running_fleet.plan.secure
    principals = set(SecurityStore(running_fleet.home).principals())
    assert {"admin", *running_fleet.plan.vessels} <= principals
    listed = running_fleet.fleet("security", "list")
    for service in running_fleet.plan.services:
        if service.kind in (
            "connect",
            "link",
            "normalizer",
            "analytics",
            "projector",
            "backfill",
            "api",
        ):
            assert "FLEET_KAFKA_CREDENTIALS" in service.env, service.name
            assert f"svc-{service.kind}" in listed
    assert "fleet.commands.vessel-1" in listed


def test_api_roles_on_the_running_api(running_fleet: RunningFleet) -> None:
    out = running_fleet.fleet("api", "token", "add", "bridge-display", "--role", "viewer")
    viewer = out.strip().splitlines()[-1]
    url = f"{running_fleet.url}/api/commands/backfill"
    body = {"vessel": running_fleet.plan.vessels[0]}
    assert _post(url, body, None) == 401
    assert _post(url, body, "not-a-token") == 401
    assert _post(url, body, viewer) == 403
    assert _post(url, body, running_fleet.token) in (200, 202)
    # A reefer command: a viewer gets 403, even for a command that would be valid.
    commands = f"{running_fleet.url}/api/commands"
    boxes = wait_for(
        lambda: running_fleet.get(f"/api/vessels/{body['vessel']}/containers"), 300, "containers"
    )
    container = boxes[0]["container_id"]
    order = {**body, "container_id": container, "action": "defrost"}

    def sent() -> list[str]:
        return [c["command_id"] for c in running_fleet.get(f"/api/commands?container={container}")]

    before = sent()
    assert _post(commands, order, None) == 401
    assert _post(commands, order, viewer) == 403
    assert sent() == before, "a refused command was sent"
    assert viewer not in (running_fleet.home / "fleet" / "api-tokens.json").read_text()


def test_no_secret_shows_in_logs_metrics_or_answers(running_fleet: RunningFleet) -> None:
    secrets = secrets_of(running_fleet.home)
    assert len(secrets) >= 12, sorted(secrets)
    files = log_files(running_fleet.home)
    assert len(files) >= 40, files
    answers = []
    for s in running_fleet.plan.services:
        if not s.metrics_port:
            continue
        try:
            answers.append(
                (f"metrics of {s.name}", _text(f"http://127.0.0.1:{s.metrics_port}/metrics"))
            )
        except OSError as exc:
            states = {p.name: (p.pid, p.restarts) for p in running_fleet.snapshot().services}
            raise AssertionError(
                f"metrics of {s.name} failed: {exc}; (pid, restarts) now {states.get(s.name)}"
            ) from exc
    for path in ("/", "/api/processes", "/api/link", "/openapi.json", "/metrics"):
        answers.append((f"API {path}", _text(f"{running_fleet.url}{path}")))
    assert not leaks(secrets, [*file_texts(files), *answers])
