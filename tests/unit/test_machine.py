"""The machine-speed probe the test run's summary prints (tests/support/machine.py)."""

from __future__ import annotations

import time

from fleetedge.runtime.waiting import wait_until
from tests.support.machine import SpeedLog, probe


def test_the_probe_measures_cpu_time_spent_on_the_work() -> None:
    began = time.process_time()
    spent = probe()
    assert 0 < spent <= time.process_time() - began


def test_the_log_samples_until_stopped_and_sums_up_its_samples() -> None:
    log = SpeedLog(every=0.05).start()
    wait_until(lambda: len(log.samples) >= 3, timeout=30, what="three samples", interval=0.05)
    log.stop()
    assert log._thread is not None
    assert not log._thread.is_alive()  # no sample can come after the stop
    count = len(log.samples)
    assert count >= 3
    times = [at for at, _ in log.samples]
    assert times == sorted(times)
    assert all(seconds > 0 for _, seconds in log.samples)
    assert f"over {count} samples" in log.summary()


def test_a_log_without_samples_says_so() -> None:
    assert SpeedLog().summary() == "no sample of the machine's speed"
