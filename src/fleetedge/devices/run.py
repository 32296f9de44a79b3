"""Running a vessel simulation against Kafka, paced by a clock that may outrun real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Gauge

from fleetedge.devices.producer import TelemetryProducer
from fleetedge.devices.vessel import VesselSimulator

SIM_SECONDS = Gauge("fleetedge_simulated_seconds", "simulated time elapsed since the run began")


@dataclass(frozen=True)
class RunStats:
    ticks: int
    readings: int
    acked: int
    wall_seconds: float

    @property
    def readings_per_second(self) -> float:
        return self.readings / self.wall_seconds if self.wall_seconds else 0.0


def run(
    sim: VesselSimulator,
    producer: TelemetryProducer,
    *,
    duration: timedelta,
    speedup: float = 60.0,
    on_tick: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunStats:
    """Produce ``duration`` of simulated readings. ``speedup`` 60 runs an hour in a minute; 0
    runs as fast as the cluster takes it. The readings do not depend on the pace. A resumed
    simulation (see :mod:`fleetedge.devices.resume`) goes on from its current tick."""
    ticks = int(duration / sim.interval)
    began = time.monotonic()
    produced = 0
    first = sim.tick
    for tick in range(first + 1, ticks + 1):
        if should_stop():
            break
        if speedup > 0:
            due = began + (tick - first) * sim.interval.total_seconds() / speedup
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the simulated clock, not waiting for a condition
        for reading in sim.next_readings():
            producer.send(reading)
            produced += 1
        SIM_SECONDS.set((sim.now - sim.start).total_seconds())
        if on_tick is not None:
            on_tick(tick, ticks)
    producer.close()
    return RunStats(sim.tick, produced, producer.acked, time.monotonic() - began)
