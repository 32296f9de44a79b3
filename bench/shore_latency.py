"""The shore bench's latency probe: windows at a steady rate into the live pipeline, timed to
the read model."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from pathlib import Path

from confluent_kafka import (
    Consumer,
    Producer,
    TopicPartition,
)

from bench.shore_input import windows_of
from fleetedge.events import topics as t
from fleetedge.projections import open_database
from fleetedge.projections.base import current_generation


class LatencyProbe:
    """Windows at a steady rate into the live pipeline; each window's arrival (its delivery
    report) against the moment its vessel's KPI row in the read model counts it."""

    def __init__(self, bootstrap: str, url: str, vessels: int, containers: int) -> None:
        self.bootstrap, self.url = bootstrap, url
        self.vessels, self.containers = vessels, containers
        self.arrived: dict[str, list[float]] = {}  # vessel → arrival times, in order
        self.counted: dict[str, list[float]] = {}  # vessel → when its row counted n changes

    def run(self, seq: int, per_second: float, seconds: float, base: dict[str, int]) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, "acks": "all"})
        records = [r for r in windows_of(self.vessels, self.containers, seq) if "window" in r[0]]
        records = records[: int(per_second * seconds)]
        lock = threading.Lock()

        def delivered(vessel: str) -> object:
            def report(err: object, _msg: object) -> None:
                if err is None:
                    with lock:
                        self.arrived.setdefault(vessel, []).append(time.monotonic())

            return report

        watcher = threading.Thread(target=self._watch, args=(base, len(records)), daemon=True)
        watcher.start()
        began = time.monotonic()
        for i, (topic, key, value) in enumerate(records):
            producer.produce(
                topic, key=key.encode(), value=value, on_delivery=delivered(key.split("/")[0])
            )
            producer.poll(0)
            lag = began + (i + 1) / per_second - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        producer.flush(60)
        watcher.join(300)

    def _watch(self, base: dict[str, int], total: int) -> None:
        deadline = time.monotonic() + 300
        seen = 0
        while seen < total and time.monotonic() < deadline:
            now = time.monotonic()
            for vessel, seq in kpi_rows(self.url).items():
                times = self.counted.setdefault(vessel, [])
                times.extend([now] * (seq - base.get(vessel, 0) - len(times)))
            seen = sum(len(v) for v in self.counted.values())
            time.sleep(0.05)

    def latencies(self) -> list[float]:
        out = []
        for vessel, arrived in self.arrived.items():
            counted = self.counted.get(vessel, [])
            # The n-th change of a vessel is counted once n of its windows have been applied.
            out += [c - a for a, c in zip(sorted(arrived), counted, strict=False)]
        return out


def kpi_rows(url: str) -> dict[str, int]:
    """Each vessel's change count in the read model's live fleet_kpis table."""
    db = open_database(url)
    try:
        gen = current_generation(db)
        if gen is None:
            return {}
        with db.transaction() as cur:
            cur.execute(f"SELECT name, seq FROM g{gen}_fleet_kpis")  # noqa: S608 - fixed name
            return {str(r[0]): int(r[1]) for r in cur.fetchall()}
    finally:
        db.close()


def lag(bootstrap: str, group: str) -> int:
    """Records of fleet.windows and fleet.alerts that ``group`` has not committed yet."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = [
            TopicPartition(spec.name, p)
            for spec in (t.FLEET_WINDOWS, t.FLEET_ALERTS)
            for p in range(spec.partitions)
        ]
        behind = 0
        for tp in consumer.committed(parts, timeout=10):
            high = consumer.get_watermark_offsets(tp, timeout=10)[1]
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


def latency_run(bootstrap: str, home: Path, shape: tuple[int, int, int]) -> list[float]:
    """The live pipeline (group fleet-analytics, 2 workers, projector into SQLite), caught up
    on the input (its group has committed every input record and its read model has not
    changed for 3 s), then probed with windows at 100/s for
    30 s: window ``seq`` of ``vessels`` x ``containers`` (``shape``)."""
    vessels, containers, seq = shape
    url = f"sqlite:///{home / 'live.db'}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetedge.cli",
                "shore",
                "analytics",
                "--bootstrap",
                bootstrap,
                "--state-dir",
                str(home / "live" / str(i)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    procs.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetedge.cli",
                "shore",
                "project",
                "--bootstrap",
                bootstrap,
                "--database",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        deadline = time.monotonic() + 900
        counted, since = -1, time.monotonic()
        while lag(bootstrap, "fleet-analytics") or time.monotonic() - since < 3:
            if time.monotonic() > deadline:
                raise RuntimeError("the live pipeline never caught up on the input")
            now = sum(kpi_rows(url).values())
            if now != counted:
                counted, since = now, time.monotonic()
            time.sleep(0.5)
        probe = LatencyProbe(bootstrap, url, vessels, containers)
        probe.run(seq, per_second=100, seconds=30, base=kpi_rows(url))
        return probe.latencies()
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``q`` of all at or below
    it (of 10 values, p90 is the 9th; ``int(q * n)`` took the 10th, the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
