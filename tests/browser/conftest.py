"""Debian's headless Chromium, driven by Playwright, for the dashboard's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.running_fleet import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
SHOTS = ARTIFACTS / "browser"  # screenshots


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
