"""The long outage of the link scenarios: one vessel's link cut for three minutes and another's
flapping (cut and restored every 10 s for 2 minutes), both on the world's Connect cluster and
link service, while test_outages.py's first tests run on the world's own vessel. Those minutes
are then spent beside other work instead of on their own; the outage's test checks it after."""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

from fleetedge.runtime.waiting import wait_until
from tests.integration.link.env import OUTAGE_S, LinkEnv, another_vessel, both_running

RATE = 40.0  # windows a second aboard each of the two vessels, through the outage


class LongOutage:
    """Begun on entry (both vessels flowing first), ended by :meth:`close` or on exit."""

    def __init__(self, env: LinkEnv) -> None:
        self._stack = contextlib.ExitStack()
        try:
            self.cut = self._stack.enter_context(another_vessel(env))
            self.flapping = self._stack.enter_context(another_vessel(env))
        except BaseException:
            self._stack.close()
            raise
        self.cut_traffic = self.cut.traffic("OUTU", rate=RATE)
        self.flap_traffic = self.flapping.traffic("FLPU", rate=RATE)
        self.flips: list[int] = []  # the flapper's count of cuts, once it ends
        self.acked_at_cut = 0
        self._stop = threading.Event()
        self._flapper = threading.Thread(target=self._flap, name="flapper", daemon=True)

    def __enter__(self) -> LongOutage:
        try:
            self.begin()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def begin(self) -> None:
        self.cut_traffic.start()
        self.flap_traffic.start()
        for env in (self.cut, self.flapping):
            wait_until(lambda: both_running(env), timeout=180,  # noqa: B023
                       what=f"{env.name}'s tasks")  # fmt: skip
        wait_until(lambda: self.cut_traffic.acked_count >= 200, timeout=60,
                   what="traffic before the cut")  # fmt: skip
        self.cut.emulator.cut(self.cut.name)
        self.acked_at_cut = self.cut_traffic.acked_count
        self._flapper.start()

    def hold(self) -> None:
        """Until the cut vessel has produced ``OUTAGE_S`` seconds' worth of records since the
        cut (at once if the tests before took that long) and the flapping has ended."""
        target = self.acked_at_cut + int(RATE * OUTAGE_S)
        wait_until(lambda: self.cut_traffic.acked_count >= target, timeout=OUTAGE_S * 2,
                   what="an outage's worth of records aboard", interval=5)  # fmt: skip
        self._flapper.join(OUTAGE_S)

    def close(self) -> None:
        """End both outages and take both vessels away (again: nothing)."""
        self._stop.set()
        if self._flapper.is_alive():
            self._flapper.join()
        for traffic in (self.cut_traffic, self.flap_traffic):
            with contextlib.suppress(Exception):  # stopped by the test already, or failed there
                traffic.stop(timeout=30)
        self._stack.close()

    def _flap(self) -> None:
        emulator = self.flapping.emulator
        self.flips.append(
            emulator.flap(self.flapping.name, every=10, duration=120, stop=self._stop)
        )
