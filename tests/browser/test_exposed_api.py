"""The API as it is run to leave the host: over TLS, with a token on every read. A second API
process serves the running fleet's read model that way (on 127.0.0.1, like everything the
tests start); every read route answers 401 without a token, and the dashboard in headless
Chromium signs in with a viewer's token and goes live."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fleetedge.runtime.ports import free_ports
from fleetedge.security.ca import LocalCA
from tests.browser.conftest import SHOTS
from tests.support.running_fleet import RunningFleet, wait_for

pytestmark = pytest.mark.kafka


@dataclass(frozen=True)
class ExposedApi:
    url: str
    ca_file: Path
    log: Path

    def status(self, path: str, headers: dict[str, str] | None = None) -> int:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        request = urllib.request.Request(f"{self.url}{path}", headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code


@pytest.fixture(scope="module")
def exposed(
    running_fleet: RunningFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExposedApi]:
    """The fleet's own API service, started again on another port as a shore that exposes it
    would run it: ``--reads token`` and a certificate of a CA of the test's own."""
    directory = tmp_path_factory.mktemp("exposed-api")
    ca = LocalCA(directory / "ca")
    ca.ensure("exposed API test CA")
    pem = ca.issue_server("api", directory / "api.pem")
    spec = next(s for s in running_fleet.plan.services if s.kind == "api")
    args = list(spec.args)
    (port,) = free_ports(1)
    args[args.index("--port") + 1] = str(port)
    args += ["--reads", "token", "--tls-cert", str(pem), "--tls-key", str(pem)]
    env = {
        **os.environ,
        **spec.env,
        "FLEET_HOME": str(running_fleet.home),
        "FLEET_CACHE_DIR": str(running_fleet.settings.cache_dir),
    }
    log = directory / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fleetedge.cli", *args], stdout=out, stderr=out, env=env
        )
    api = ExposedApi(f"https://127.0.0.1:{port}", ca.cert_path, log)
    try:
        wait_for(lambda: api.status("/livez") == 200, 120, "the exposed API to answer")
        yield api
    finally:
        proc.terminate()
        proc.wait(60)


def test_every_read_route_without_a_token_is_401(exposed: ExposedApi) -> None:
    context = ssl.create_default_context(cafile=str(exposed.ca_file))
    with urllib.request.urlopen(f"{exposed.url}/openapi.json", context=context) as answer:  # noqa: S310
        document = json.loads(answer.read())
    sample = {"vessel_id": "vessel-1", "container_id": "NOPE0000000"}
    reads = [
        re.sub(r"\{(\w+)\}", lambda m: sample[m[1]], path)
        for path, operations in document["paths"].items()
        if "get" in operations
    ]
    assert "/api/stream" in reads
    assert "/api/vessels" in reads
    for path in [*reads, "/metrics/"]:
        assert exposed.status(path) == 401, path
        assert exposed.status(path, {"Authorization": "Bearer wrong"}) == 401, path


def test_the_dashboard_signs_in_with_a_viewer_token_and_goes_live(
    exposed: ExposedApi, running_fleet: RunningFleet, browser: Browser
) -> None:
    token = running_fleet.fleet("api", "token", "add", "bridge-screen", "--role", "viewer")
    viewer = token.strip().splitlines()[-1]
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1400, "height": 1000}
    )
    try:
        page = context.new_page()
        page.goto(f"{exposed.url}/")
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible(timeout=30_000)
        page.locator("#token-input").fill(viewer)
        page.locator("#token-save").click()
        for vessel in running_fleet.plan.vessels:
            marker = page.locator(f'#vessel-markers [data-vessel="{vessel}"]')
            expect(marker).to_be_visible(timeout=60_000)
        # The live stream opened on the session cookie: no header can go on an EventSource.
        expect(page.locator("#live")).to_have_text("live", timeout=60_000)
        (cookie,) = context.cookies()
        assert cookie["httpOnly"]
        assert cookie["secure"]
        assert cookie["sameSite"] == "Strict"
        page.screenshot(path=str(SHOTS / "exposed-signed-in.png"), full_page=True)
        # A viewer reads but may not act.
        vessel = running_fleet.plan.vessels[-1]
        page.locator(f'#links tr[data-vessel="{vessel}"] [data-action="cut-link"]').click()
        expect(page.locator("#toast")).to_contain_text("refused", timeout=30_000)
        # The emulator's own word: the link's health may read offline on a loaded machine.
        assert not running_fleet.chaos().emulator().is_cut(vessel)
    finally:
        context.close()
        running_fleet.fleet("api", "token", "revoke", "bridge-screen")
