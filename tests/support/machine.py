"""How fast this machine's CPU was while the tests ran: the CPU time of one fixed piece of pure
Python work, sampled through the run by the controller.

The same work is not the same CPU time on a shared host. On the 2-core CI machine, idle, a
loop of ten million squares took 0.67 to 1.22 s of CPU a few seconds apart, and one commit's
`.ci/run` took 1,624 s in CI and 2,121 s two hours later. A run's wall time means something
only beside this figure, so the summary prints it and test-artifacts/machine.json keeps every
sample.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field

WORK = 1_000_000  # squares summed per sample: about 0.1 s of CPU on this machine


def probe() -> float:
    """CPU seconds this process spends on the fixed work (its own clock: the other processes
    on the machine do not count in it, only how fast the core ran it)."""
    began = time.process_time()
    sum(i * i for i in range(WORK))
    return time.process_time() - began


@dataclass
class SpeedLog:
    """Samples of :func:`probe` every ``every`` seconds, from :meth:`start` to :meth:`stop`."""

    every: float = 30.0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (since start, CPU s)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SpeedLog:
        began = time.monotonic()

        def run() -> None:
            while True:
                self.samples.append((round(time.monotonic() - began, 1), probe()))
                if self._stop.wait(self.every):
                    return

        self._thread = threading.Thread(target=run, name="machine-speed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def summary(self) -> str:
        """One line: the median and the range of the samples, in milliseconds of CPU."""
        if not self.samples:
            return "no sample of the machine's speed"
        ms = sorted(seconds * 1000 for _, seconds in self.samples)
        return (
            f"CPU probe ({WORK:,} squares): median {statistics.median(ms):.0f} ms of CPU, "
            f"{ms[0]:.0f} to {ms[-1]:.0f} ms over {len(ms)} samples"
        )
