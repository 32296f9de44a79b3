"""Security's cost: throughput and link bytes with TLS and SASL on, against off, in one run.

Two rigs, one after the other, identical but for security: a vessel (3 nodes) behind the link
emulator and a shore (3 nodes), with the vessel's MirrorMaker 2 bulk flow as `fleet up` runs it.
In the secured rig the shore is SASL_SSL with ACLs and the vessel's link listener SASL_SSL
(SCRAM-SHA-512, TLS 1.3), every client presenting the vessel's or a service's principal.
Each rig measures:

- a raw confluent-kafka producer writing windows to the shore (acks=all, idempotent, zstd):
  records/s; the local client path, where TLS costs CPU and no link is in the way;
- MirrorMaker 2 draining a backlog of windows through the shaped link: seconds, and bytes on
  the link up and down (the kernel class counters of the emulator), per window;
- a raw consumer reading the same backlog through the same link: seconds and bytes, the
  baseline for the link's protocol overhead.

It prints each figure for both rigs and the ratio secured / plaintext.

Usage: ``python -m bench.security_bench [--records 100000] [--backlog 10000] [--kbps 1024]``
(needs root for the kernel's traffic control, like `fleet link shape`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

from bench.link_bench import Rig as LinkRig
from bench.link_bench import edge_backlog, produce_backlog, raw_drain
from fleetedge.devices.synthetic import window
from fleetedge.events import JSON, topics
from fleetedge.link.emulator import Shape
from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaJars, KafkaRuntime, find_java
from fleetedge.runtime.health import create_topic
from fleetedge.runtime.waiting import wait_until
from fleetedge.security import acls
from fleetedge.security import fleet as security
from fleetedge.security.clients import kafka_config
from fleetedge.settings import RuntimeSettings

VESSEL = "vessel-b"
THROUGHPUT_TOPIC = "fleet.windows"


@dataclass
class Figures:
    produce_rate: float
    drain_s: float
    drain_up: int
    drain_down: int
    raw_s: float
    raw_up: int
    raw_down: int


class Rig(LinkRig):
    def backlog(self) -> int:
        return self.health().backlog_records


def produce_rate(rig: Rig, records: int) -> float:
    """Records/s of a raw producer to the shore, as the normalizer's principal when secured."""
    bootstrap = rig.shore.bootstrap_servers
    create_topic(bootstrap, THROUGHPUT_TOPIC, partitions=3, replication_factor=3)
    config = kafka_config(bootstrap)
    if rig.secure:
        config |= security.auth(rig.store, acls.NORMALIZER).librdkafka()
    producer = Producer(
        {**config, "enable.idempotence": True, "acks": "all", "compression.type": "zstd",
         "linger.ms": 20}
    )  # fmt: skip
    payloads = [JSON.encode(window(VESSEL, f"BNCU{i:07d}", 1)) for i in range(1000)]
    began = time.monotonic()
    for i in range(records):
        while True:
            try:
                producer.produce(THROUGHPUT_TOPIC, payloads[i % 1000])
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(300)
    return records / (time.monotonic() - began)


def measure_rig(rig: Rig, args: argparse.Namespace) -> Figures:
    rate = produce_rate(rig, args.records)
    rig.emulator.shape(VESSEL, Shape(kbps=args.kbps, latency_ms=args.latency_ms))
    rig.emulator.cut(VESSEL)
    reefers = 2500
    hours = max(args.backlog // (reefers * 4), 1)  # a reefer's four windows an hour
    windows = produce_backlog(rig.vessel.bootstrap_servers, edge_backlog(VESSEL, reefers, hours))
    up0, down0 = rig.emulator.sent_bytes(VESSEL)
    rig.emulator.restore(VESSEL)
    began = time.monotonic()
    wait_until(lambda: rig.backlog() == 0, timeout=3600, what="drained", interval=1)
    drain_s = time.monotonic() - began
    up1, down1 = rig.emulator.sent_bytes(VESSEL)
    raw_s = raw_drain(rig.link_bootstrap, topics.AGGREGATES.name, topics.AGGREGATES.partitions,
                      windows)  # fmt: skip
    up2, down2 = rig.emulator.sent_bytes(VESSEL)
    return Figures(rate, drain_s, up1 - up0, down1 - down0, raw_s, up2 - up1, down2 - down1)


def report(plain: Figures, secure: Figures, windows: int) -> None:
    def row(label: str, a: float, b: float, unit: str) -> None:
        print(f"{label:<44} {a:>12,.1f} {b:>12,.1f} {unit:<10} x{b / a:.2f}")

    print(f"{'':<44} {'plaintext':>12} {'TLS+SASL':>12} {'':<10} ratio")
    row("raw producer to the shore", plain.produce_rate, secure.produce_rate, "records/s")
    row("MirrorMaker 2 drain through the link", plain.drain_s, secure.drain_s, "s")
    row("  link bytes up per window", plain.drain_up / windows, secure.drain_up / windows, "B")
    row("  link bytes down per window", plain.drain_down / windows,
        secure.drain_down / windows, "B")  # fmt: skip
    row("raw consumer through the link", plain.raw_s, secure.raw_s, "s")
    row("  link bytes up per window", plain.raw_up / windows, secure.raw_up / windows, "B")
    row("  link bytes down per window", plain.raw_down / windows, secure.raw_down / windows, "B")


def main() -> None:
    parser = argparse.ArgumentParser(description="TLS and SASL on against off")
    parser.add_argument("--records", type=int, default=100_000, help="producer throughput")
    parser.add_argument(
        "--backlog",
        type=int,
        default=10_000,
        help="windows through the link, in whole hours of 2,500 reefers",
    )
    parser.add_argument("--kbps", type=int, default=1024)
    parser.add_argument("--latency-ms", type=int, default=300)
    args = parser.parse_args()
    cfg = RuntimeSettings()
    runtime = KafkaRuntime(find_java(cfg.java), KafkaJars(cfg.cache_dir).require())
    binary = ToxiproxyBinary(cfg.cache_dir.parent)
    binary.install()
    results: dict[bool, Figures] = {}
    for secure in (False, True):
        home = Path(tempfile.mkdtemp(prefix=f"fleet-security-bench-{int(secure)}-"))
        rig = Rig(runtime, binary.path, home, secure=secure)
        try:
            rig.start()
            results[secure] = measure_rig(rig, args)
        finally:
            rig.close()
        print(f"{'secured' if secure else 'plaintext'} rig measured", flush=True)
    windows = (args.backlog // 2500) * 2500
    print(f"link {args.kbps} kbit/s, {args.latency_ms} ms; backlog {windows} windows; "
          f"{args.records} records produced")  # fmt: skip
    report(results[False], results[True], windows)


if __name__ == "__main__":
    main()
