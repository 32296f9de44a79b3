"""Waiting for a condition with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from fleetedge.runtime.exceptions import ClusterTimeoutError

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Raises ClusterTimeoutError naming ``what`` when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise ClusterTimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
