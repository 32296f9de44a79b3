"""The default demo fleet: start time, total memory, and reading-to-dashboard latency.

Prints, from one run of ``fleet up --detach`` (2 vessels of 200 reefers, 3 brokers each, the
link on one Connect worker, the shore and the API; free ports, a private FLEET_HOME):
- the start time, from the command to every service healthy;
- from the command to the first window in the read model, as the API serves it (goal: at
  most 60 s);
- the total RSS of every process of the fleet (supervisor, brokers, the Connect worker, the
  downlinks, Toxiproxy, services; goal: at most 4 GB);
- a new vessel: from ``fleet vessel add`` (50 reefers, one node) to its first window in the
  read model (goal: at most 30 s);
- reading to dashboard on a healthy link: from the vessel cluster's timestamp of the last
  reading of a window to the moment the API serves that window (polled every 0.2 s), p50 and
  p99; the edge's window grace (5 simulated minutes, 5 s at speedup 60) is part of it;
- alert to dashboard: from the vessel cluster's timestamp of an alert to the API serving it;
- the baseline, in the same run: a raw confluent-kafka produce-to-consume round trip on the
  vessel cluster, p50 and p99.

Usage: ``python bench/fleet_bench.py [--seconds 180]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import Consumer, Producer

from fleetedge.events import topics as t
from fleetedge.events.codec import decode
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import fleet_dir, plan_path
from fleetedge.runtime.health import create_topic


def fleet(home: Path, *args: str, timeout: float = 900) -> str:
    env = {**os.environ, "FLEET_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "fleetedge.cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"fleet {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return json.loads(response.read())


def total_rss(home: Path) -> tuple[int, int]:
    """RSS of the supervisor and all its descendants, and how many processes."""
    root = psutil.Process(int((fleet_dir(home) / "supervisor.pid").read_text()))
    procs = [root, *root.children(recursive=True)]
    # Brokers are the supervisor's children; Toxiproxy and MirrorMaker 2 the link service's.
    return sum(p.memory_info().rss for p in procs if p.is_running()), len(procs)


def bootstrap_of(home: Path, cluster: str) -> str:
    state = json.loads((home / "clusters" / cluster / "cluster.json").read_text())
    return ",".join(f"127.0.0.1:{n['broker_port']}" for n in state["nodes"])


class Timestamps(threading.Thread):
    """Kafka timestamps aboard: (container, reading seq) of the telemetry, alert ids."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.readings: dict[tuple[str, int], int] = {}
        self.alerts: dict[str, int] = {}
        self.stop = threading.Event()
        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
             "auto.offset.reset": "latest", "isolation.level": "read_committed"}
        )  # fmt: skip
        self.consumer.subscribe([t.TELEMETRY.name, t.ALERTS.name])

    def run(self) -> None:
        while not self.stop.is_set():
            for msg in self.consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                event: Any = decode(msg.value() or b"")
                stamp = msg.timestamp()[1]
                if msg.topic() == t.TELEMETRY.name:
                    self.readings[(event.container_id, event.seq)] = stamp
                else:
                    self.alerts.setdefault(str(event.alert_id), stamp)
        self.consumer.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def baseline(bootstrap: str, samples: int = 200) -> list[float]:
    topic = f"bench-rtt-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, partitions=1, replication_factor=3)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([topic])
    consumer.poll(5)
    out = []
    for _ in range(samples):
        sent = time.monotonic()
        producer.produce(topic, b"x")
        producer.flush()
        while consumer.poll(5) is None:
            pass
        out.append((time.monotonic() - sent) * 1000)
    consumer.close()
    return out


def sample(
    api: str, vessel: str, bootstrap: str, seconds: float
) -> tuple[list[float], list[float]]:
    """Poll the API as the dashboard does; latencies (ms) of new windows and new alerts."""
    stamps = Timestamps(bootstrap)
    stamps.start()
    time.sleep(3)  # the stamp consumer joins before anything new is counted
    containers = [c["container_id"] for c in get(f"{api}/api/vessels/{vessel}/containers")][:8]
    seen: dict[tuple[str, int], float] = {}
    alerts_seen: dict[str, float] = {}
    first = True
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now_ms = time.time() * 1000
        for c in containers:
            for w in get(f"{api}/api/containers/{c}/history?limit=3"):
                seen.setdefault((c, w["last_seq"]), -1 if first else now_ms)
        for a in get(f"{api}/api/alerts?vessel={vessel}&limit=20"):
            alerts_seen.setdefault(a["alert_id"], -1 if first else now_ms)
        first = False
        time.sleep(0.2)  # the dashboard's view, polled
    stamps.stop.set()
    stamps.join()
    windows = [at - stamps.readings[k] for k, at in seen.items() if at > 0 and k in stamps.readings]
    alerts = [
        at - stamps.alerts[a] for a, at in alerts_seen.items() if at > 0 and a in stamps.alerts
    ]
    return windows, alerts


def first_window(api: str, vessels: list[str], timeout: float = 900) -> None:
    """Return once the API serves a window of any of ``vessels``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for vessel in vessels:
            try:
                if get(f"{api}/api/vessels/{vessel}/containers"):
                    return
            except OSError:
                pass  # the API starting, or the vessel not known yet
        time.sleep(0.5)  # polling the API; the deadline bounds it
    raise SystemExit(f"no window of {vessels} in the read model after {timeout:.0f}s")


def wait_online(api: str, vessels: list[str]) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        states = {v["vessel_id"]: v["link"]["state"] for v in get(f"{api}/api/vessels")}
        if len(states) == len(vessels) and set(states.values()) == {"online"}:
            return
        time.sleep(2)  # waiting for every link to carry data
    raise SystemExit("the links did not come online in 10 minutes")


def show(name: str, values: list[float]) -> None:
    if values:
        print(
            f"{name}: p50 {pct(values, 0.5) / 1000:.1f} s, p99 {pct(values, 0.99) / 1000:.1f} s "
            f"over {len(values)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180, help="latency sampling time")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    began = time.monotonic()
    fleet(home, "up", "--detach", "--free-ports")
    start_s = time.monotonic() - began
    try:
        plan = FleetPlan.load(plan_path(home))
        vessel = plan.vessels[0]
        first_window(plan.api_url, plan.vessels)
        first_s = time.monotonic() - began
        wait_online(plan.api_url, plan.vessels)
        rss, processes = total_rss(home)
        windows, alerts = sample(plan.api_url, vessel, bootstrap_of(home, vessel), args.seconds)
        base = baseline(bootstrap_of(home, vessel))
        added = time.monotonic()
        fleet(home, "vessel", "add", "bench-new", "--containers", "50", "--nodes", "1")
        joined_s = time.monotonic() - added
        first_window(plan.api_url, ["bench-new"])
        new_s = time.monotonic() - added
    finally:
        fleet(home, "down", "--purge")
    print(f"start time, to every service healthy: {start_s:.0f} s")
    print(f"to the first window in the read model: {first_s:.0f} s (goal <= 60 s)")
    print(f"total RSS: {rss / 1e9:.2f} GB over {processes} processes (goal <= 4 GB)")
    print(
        f"a new vessel: `fleet vessel add` returned after {joined_s:.0f} s; its first window in "
        f"the read model after {new_s:.0f} s (goal <= 30 s)"
    )
    show("reading to dashboard (windows)", windows)
    show("alert to dashboard (alerts)", alerts)
    print(
        f"baseline, raw produce-to-consume (acks=all, vessel cluster): "
        f"p50 {statistics.median(base):.1f} ms, p99 {pct(base, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
