"""What an idle vessel link carries, and who sends it.

One vessel and the shore behind the emulated link (the link bench's rig: Connect with both
uplinks, the downlink, the link service), shaped to 64 kbit/s and 600 ms, with nothing produced
aboard. Over ``--seconds`` it counts the link's bytes (the kernel classes, as every link
figure here) and captures the link's packets with tcpdump to say which process sent them:

- the Connect worker (the uplinks' source consumers and topic listings),
- the downlink's MirrorMaker 2 (its heartbeats, its group and internal topics aboard),
- the link service (its probe),

and how much of it is connections that carried no data at all: TCP keep-alives, which the
emulator's proxy (Go's default, every 15 s) sends on each idle connection.

Needs root (tc, tcpdump) and Debian's tcpdump. Run from the repository root:
``.venv/bin/python -m bench.link_idle --seconds 60``
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.link_bench import make_rig
from fleetedge.link.emulator import Shape
from fleetedge.runtime.waiting import wait_until

FRAME = re.compile(
    r"length (\d+): 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): Flags \[[^\]]*\].*length (\d+)"
)
OWNER = re.compile(r'users:\(\("[^"]+",pid=(\d+)')


@dataclass
class Traffic:
    frames: int = 0
    bytes: int = 0
    payload: int = 0


def role(pid: int) -> str:
    """Which part of the link a process is, from its command line."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "ConnectDistributed" in cmd:
        return "Connect worker (uplinks)"
    if "connect.mirror.MirrorMaker" in cmd:
        return "downlink MirrorMaker 2"
    if "python" in cmd:
        return "link service (probe)"
    return cmd[:60]


def owners(ports: set[int]) -> dict[int, int]:
    """Client port -> pid, for every connection to one of the proxy ``ports``."""
    found: dict[int, int] = {}
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        local = int(fields[3].rsplit(":", 1)[1])
        peer = int(fields[4].rsplit(":", 1)[1])
        match = OWNER.search(line)
        if peer in ports and match:
            found[local] = int(match.group(1))
    return found


def capture(ports: set[int], seconds: float) -> tuple[str, dict[int, int]]:
    """tcpdump's text of the link's packets over ``seconds``, and who owned each client port."""
    pcap = Path(tempfile.mkdtemp(prefix="fleet-link-idle-")) / "link.pcap"
    rule = " or ".join(f"port {p}" for p in sorted(ports))
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-nn", "-e", "-w", str(pcap), rule],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: dict[int, int] = {}
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:  # connections may open and close within the window
            seen |= owners(ports)
            time.sleep(0.5)  # the sampling period of the owners' table, not a wait
    finally:
        dump.terminate()
        dump.wait(10)
    text = subprocess.run(
        ["tcpdump", "-r", str(pcap), "-nn", "-e"], capture_output=True, text=True, check=False
    ).stdout
    shutil.rmtree(pcap.parent, ignore_errors=True)
    return text, seen


def attribute(text: str, ports: set[int], seen: dict[int, int]) -> None:
    by_role: dict[str, Traffic] = defaultdict(Traffic)
    by_conn: dict[int, Traffic] = defaultdict(Traffic)
    client_role: dict[int, str] = {}
    for line in text.splitlines():
        match = FRAME.search(line)
        if match is None:
            continue
        size, a, b, payload = (int(g) for g in match.groups())
        client = a if b in ports else b
        name = client_role.setdefault(client, role(seen[client]) if client in seen else "not seen")
        for t in (by_role[name], by_conn[client]):
            t.frames += 1
            t.bytes += size
            t.payload += payload
    total = Traffic(
        sum(t.frames for t in by_role.values()),
        sum(t.bytes for t in by_role.values()),
        sum(t.payload for t in by_role.values()),
    )
    print(f"captured: {total.frames} frames, {total.bytes:,} bytes ({total.payload:,} of them "
          f"Kafka's requests and responses, the rest TCP/IP headers)")  # fmt: skip
    for name, t in sorted(by_role.items(), key=lambda kv: -kv[1].bytes):
        print(f"  {name}: {t.frames} frames, {t.bytes:,} bytes, {t.payload:,} payload")
    quiet = [t for t in by_conn.values() if t.payload == 0]
    print(
        f"  of all that, {len(quiet)} of {len(by_conn)} connections carried no data: "
        f"{sum(t.frames for t in quiet)} frames, {sum(t.bytes for t in quiet):,} bytes "
        f"(TCP keep-alives of the emulator's proxy)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="what an idle vessel link carries, by sender")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=60, help="idle this long first")
    args = parser.parse_args()
    if shutil.which("tcpdump") is None:
        raise SystemExit("tcpdump is needed: apt-get install tcpdump")
    rig = make_rig()
    try:
        rig.start()
        name = rig.vessel.name
        rig.emulator.shape(name, Shape(kbps=64, latency_ms=600))
        wait_until(lambda: rig.health().backlog_records == 0, timeout=300, what="nothing aboard")
        time.sleep(args.settle)  # let start-up traffic end: the idle link is what is measured
        ports = set(rig.emulator.link(name).proxy_ports)
        up0, down0 = rig.emulator.sent_bytes(name)
        text, seen = capture(ports, args.seconds)
        up1, down1 = rig.emulator.sent_bytes(name)
        print(f"link: 64 kbit/s, 600 ms; idle for {args.seconds:.0f} s")
        print(f"link bytes (kernel classes): {up1 - up0:,} up, {down1 - down0:,} down, "
              f"{(up1 - up0 + down1 - down0) * 8 / args.seconds / 1000:.1f} kbit/s")  # fmt: skip
        attribute(text, ports, seen)
    finally:
        rig.close()


if __name__ == "__main__":
    main()
