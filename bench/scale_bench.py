"""The fleet at scale on one machine: many vessels on one shore Connect cluster.

Each vessel is a single-node KRaft cluster behind the link emulator, with its two uplink
connectors (priority, bulk) on one shore Kafka Connect cluster; the shore is one cluster. Each
vessel's reefers write their windows (and an alert each) aboard with sequence numbers; the run
then checks, per vessel, that every window and alert came ashore exactly once (a ledger
against what the vessel acknowledged), and prints:

- start-up: clusters, then connectors running for every vessel;
- the drain of every vessel's windows;
- the shore's cost of one more vessel: the Connect worker's RSS and CPU per vessel while idle,
  against the same worker with no vessel, measured in the same run.

The downlink (each vessel's own MirrorMaker 2 worker, aboard) is not started: it is the
vessel's cost, not the shore's, and the shore cost is what this run measures.

Usage: ``python -m bench.scale_bench [--vessels 20] [--containers 50] [--windows 4]``
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from confluent_kafka import Producer

from fleetedge.devices.synthetic import alert, window
from fleetedge.events import JSON, topics
from fleetedge.events.codec import decode
from fleetedge.link.connect import ConnectGroup, ConnectSettings
from fleetedge.link.connectors import connector_names
from fleetedge.link.emulator import LinkEmulator
from fleetedge.link.exceptions import ConnectRestError
from fleetedge.link.rest import ConnectRest
from fleetedge.link.setup import vessel_link
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaCluster, KafkaJars, KafkaRuntime, find_java, free_node_ports
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.reading import read_to_end
from fleetedge.runtime.waiting import wait_until
from fleetedge.settings import RuntimeSettings

Say = Callable[[str], None]
IDLE_S = 60.0


@dataclass
class ScaleFigures:
    vessels: int
    containers: int
    windows_per_vessel: int
    clusters_up_s: float
    connectors_running_s: float
    drained_s: float
    lost: int
    duplicates: int
    worker_rss_empty_mb: float
    worker_rss_mb: float
    rss_per_vessel_mb: float
    idle_cpu_empty_pct: float
    idle_cpu_pct: float
    idle_cpu_per_vessel_pct: float


def _rss_mb(pids: list[int]) -> float:
    return sum(psutil.Process(p).memory_info().rss for p in pids) / 1e6


def _cpu_pct(pids: list[int], seconds: float) -> float:
    """CPU of ``pids`` over ``seconds``, as a percentage of one core."""
    procs = [psutil.Process(p) for p in pids]
    before = sum(sum(p.cpu_times()[:2]) for p in procs)
    time.sleep(seconds)  # the measuring window itself
    after = sum(sum(p.cpu_times()[:2]) for p in procs)
    return 100 * (after - before) / seconds


def _produce(vessel: KafkaCluster, containers: int, windows: int) -> dict[str, set[int]]:
    """Every reefer's windows and one alert each; the acknowledged (source -> seqs)."""
    acked: dict[str, set[int]] = defaultdict(set)
    producer = Producer(
        {
            "bootstrap.servers": vessel.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "zstd",
            "linger.ms": 20,
        }
    )

    def done(source: str, seq: int) -> Callable[[object, object], None]:
        def callback(err: object, _msg: object) -> None:
            if err is None:
                acked[source].add(seq)

        return callback

    # An ISO 6346 owner code per vessel: S, two letters from the vessel's number, U.
    number = int(vessel.name.rsplit("-", 1)[-1])
    owner = f"S{chr(65 + number // 26 % 26)}{chr(65 + number % 26)}U"
    for c in range(1, containers + 1):
        container = f"{owner}{c:07d}"
        for seq in range(1, windows + 1):
            event = window(vessel.name, container, seq)
            producer.produce(
                topics.AGGREGATES.name, JSON.encode(event), container.encode(),
                on_delivery=done(f"{topics.AGGREGATES.name}:{event.source}", seq),
            )  # fmt: skip
        event_a = alert(vessel.name, container, 1)
        producer.produce(
            topics.ALERTS.name, JSON.encode(event_a), container.encode(),
            on_delivery=done(f"{topics.ALERTS.name}:{event_a.source}", 1),
        )  # fmt: skip
        producer.poll(0)
    if producer.flush(120) != 0:
        raise RuntimeError(f"{vessel.name}: records not acknowledged aboard")
    return acked


def _ledger(shore: str, vessel: str, acked: dict[str, set[int]]) -> tuple[int, int, int]:
    """(arrived, lost, duplicates) of ``vessel``'s acknowledged records ashore."""
    seen: dict[str, list[int]] = defaultdict(list)
    for spec in (topics.AGGREGATES, topics.ALERTS):
        for value in read_to_end(shore, topics.on_shore(vessel, spec)):
            event = decode(value)
            seen[f"{spec.name}:{event.source}"].append(event.seq)
    arrived = sum(len(set(s)) for s in seen.values())
    lost = sum(len(seqs - set(seen.get(src, []))) for src, seqs in acked.items())
    duplicates = sum(len(s) - len(set(s)) for s in seen.values())
    return arrived, lost, duplicates


def scale_run(
    home: Path,
    runtime: KafkaRuntime,
    toxiproxy: Path,
    *,
    vessels: int = 20,
    containers: int = 50,
    windows: int = 4,
    idle_s: float = IDLE_S,
    say: Say = print,
) -> ScaleFigures:
    """Run the fleet of ``vessels`` and measure it (``idle_s``: the idle CPU window)."""
    began = time.monotonic()
    vessel_runtime = KafkaRuntime(runtime.java, runtime.jars, heap_mb=256)
    shore = KafkaCluster.create("shore", home=home, runtime=runtime, ports=free_node_ports(1))
    ships = [
        KafkaCluster.create(
            f"ship-{i:02d}", home=home, runtime=vessel_runtime, ports=free_node_ports(1, link=True)
        )
        for i in range(1, vessels + 1)
    ]
    emulator = LinkEmulator(home / "link", toxiproxy, free_ports(1)[0])
    group = ConnectGroup(
        runtime, home / "link" / "connect", ConnectSettings(shore.bootstrap_servers, 1),
        free_ports(1),
    )  # fmt: skip
    try:
        shore.up()
        emulator.start()
        rest = group.start()
        pids = [p for w in group.workers for p in w.pids()]
        say("the Connect worker is up with no vessel; measuring it idle")
        time.sleep(idle_s / 3)  # settle after start-up before the idle baseline
        cpu_empty = _cpu_pct(pids, idle_s / 2)
        rss_empty = _rss_mb(pids)
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda c: c.up(timeout=300), ships))
        clusters_up = time.monotonic() - began
        say(f"{vessels} vessel clusters up after {clusters_up:.0f}s")
        t0 = time.monotonic()
        for ship in ships:
            link = vessel_link(
                runtime, home / "link" / "connect", emulator, ship, shore,
                downlink_port=free_ports(1)[0],
            )  # fmt: skip
            for name, config in link.connectors.items():
                _put(rest, name, config)
        wait_until(lambda: _all_running(rest, ships), timeout=600, what="every connector running",
                   interval=2)  # fmt: skip
        running = time.monotonic() - t0
        say(f"{2 * vessels} connectors running {running:.0f}s after the first was created")
        t1 = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            ledgers = dict(zip(ships, pool.map(lambda s: _produce(s, containers, windows), ships),
                               strict=True))  # fmt: skip
        wanted = {s.name: sum(len(v) for v in ledgers[s].values()) for s in ships}

        def all_ashore() -> bool:
            _all_running(rest, ships)  # restarts a task that failed since
            return all(
                _ledger(shore.bootstrap_servers, s.name, ledgers[s])[0] >= wanted[s.name]
                for s in ships
            )

        wait_until(all_ashore, timeout=900, what="every vessel's records ashore", interval=5)
        drained = time.monotonic() - t1
        lost = duplicates = 0
        for ship in ships:
            _, missing, twice = _ledger(shore.bootstrap_servers, ship.name, ledgers[ship])
            lost += missing
            duplicates += twice
        say(f"every vessel's {sum(wanted.values())} records ashore {drained:.0f}s after produced;"
            f" lost {lost}, twice {duplicates}")  # fmt: skip
        time.sleep(idle_s / 6)  # settle after the drain before the idle measure
        cpu = _cpu_pct(pids, idle_s)
        rss = _rss_mb(pids)
        return ScaleFigures(
            vessels=vessels,
            containers=containers,
            windows_per_vessel=containers * windows,
            clusters_up_s=round(clusters_up, 1),
            connectors_running_s=round(running, 1),
            drained_s=round(drained, 1),
            lost=lost,
            duplicates=duplicates,
            worker_rss_empty_mb=round(rss_empty, 1),
            worker_rss_mb=round(rss, 1),
            rss_per_vessel_mb=round((rss - rss_empty) / vessels, 1),
            idle_cpu_empty_pct=round(cpu_empty, 2),
            idle_cpu_pct=round(cpu, 2),
            idle_cpu_per_vessel_pct=round((cpu - cpu_empty) / vessels, 2),
        )
    finally:
        group.stop()
        emulator.stop()
        for cluster in (*ships, shore):
            cluster.down(purge=True)


def _put(rest: ConnectRest, name: str, config: dict[str, str]) -> None:
    """Create a connector; a rebalance in progress (409) is waited out."""
    wait_until(lambda: _try_put(rest, name, config), timeout=120, what=f"{name} configured")


def _try_put(rest: ConnectRest, name: str, config: dict[str, str]) -> bool:
    try:
        rest.put_config(name, config)
    except ConnectRestError as exc:
        if not exc.retriable:
            raise
        return False
    return True


def _all_running(rest: ConnectRest, ships: list[KafkaCluster]) -> bool:
    """Every connector's tasks running. A FAILED task is restarted, as the link service does
    in a fleet: on a loaded machine a task's first zombie fencing can time out reading the
    config topic, and Connect leaves such a task FAILED for good."""
    try:
        states = rest.connectors()
    except ConnectRestError:
        return False
    running = True
    for ship in ships:
        for name in connector_names(ship.name):
            state = states.get(name)
            if state is not None and state.failed:
                with contextlib.suppress(ConnectRestError):  # asked again at the next look
                    rest.restart(name, only_failed=True)
            if state is None or not state.tasks or any(t.state != "RUNNING" for t in state.tasks):
                running = False
    return running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vessels", type=int, default=20)
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--windows", type=int, default=4, help="windows per reefer")
    args = parser.parse_args()
    settings = RuntimeSettings()
    runtime = KafkaRuntime(find_java(settings.java), KafkaJars(settings.cache_dir).require())
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        figures = scale_run(
            Path(tmp), runtime, binary.path,
            vessels=args.vessels, containers=args.containers, windows=args.windows,
        )  # fmt: skip
    for key, value in asdict(figures).items():
        print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
