"""Remote reefer commands: request to ``applied`` ashore, on a healthy and on a shaped link.

One run of ``fleet up --detach`` (2 vessels of 200 reefers, free ports, a private FLEET_HOME).
For each phase, ``--commands`` commands (defrost and PTI, alternating over vessel-1's reefers)
go through the API one after another; each is timed from the POST to the API serving it as
``applied`` (polled every 0.2 s), which takes in the downlink, the vessel's handler and
controllers, the priority uplink, the normalizer and the projector.

- healthy: the link as `fleet up` makes it;
- shaped: 64 kbit/s and 600 ms round trip, after the link was cut for ``--cut`` seconds, so the
  bulk backlog drains through the same pipe while the commands travel;
- baseline, in the same run: a raw confluent-kafka produce-to-consume round trip on the vessel
  cluster, p50 and p99.

Usage: ``python -m bench.command_bench [--commands 20] [--cut 180]`` (shaping needs root, as
`fleet link shape` does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.fleet_bench import baseline, bootstrap_of, first_window, fleet, get, pct, wait_online
from fleetedge.orchestration.spec import FleetPlan
from fleetedge.orchestration.state import plan_path, token_path


def post(url: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
        return json.loads(reply.read())  # type: ignore[no-any-return]


def round_trips(api: str, token: str, vessel: str, count: int) -> list[float]:
    """Seconds from each POST to the API serving the command as applied (or rejected)."""
    boxes = [c["container_id"] for c in get(f"{api}/api/vessels/{vessel}/containers")]
    out = []
    for i in range(count):
        action = ("defrost", "pre_trip_inspection")[i % 2]
        box = boxes[i % len(boxes)]
        began = time.monotonic()
        sent = post(f"{api}/api/commands", token, {"vessel": vessel, "container_id": box,
                                                   "action": action})  # fmt: skip
        deadline = began + 900
        while time.monotonic() < deadline:
            listed = get(f"{api}/api/commands?container={box}&limit=20")
            found = next((c for c in listed if c["command_id"] == sent["command_id"]), None)
            if found and found["status"] in ("applied", "rejected"):
                out.append(time.monotonic() - began)
                break
            time.sleep(0.2)  # polling the API, as the dashboard's refetch would
        else:
            raise SystemExit(f"command {sent['command_id']} not answered in 900 s")
    return out


def show(name: str, values: list[float]) -> None:
    print(
        f"{name}: p50 {statistics.median(values):.1f} s, p99 {pct(values, 0.99):.1f} s, "
        f"max {max(values):.1f} s over {len(values)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--cut", type=float, default=180, help="seconds the link is cut first")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="command-bench-"))
    fleet(home, "up", "--detach", "--free-ports")
    try:
        plan = FleetPlan.load(plan_path(home))
        vessel, token = plan.vessels[0], token_path(home).read_text().strip()
        first_window(plan.api_url, plan.vessels)
        wait_online(plan.api_url, plan.vessels)
        healthy = round_trips(plan.api_url, token, vessel, args.commands)
        fleet(home, "link", "shape", vessel, "--kbps", "64", "--latency-ms", "600")
        fleet(home, "link", "cut", vessel)
        time.sleep(args.cut)  # the outage whose backlog drains during the shaped phase
        fleet(home, "link", "restore", vessel)
        shaped = round_trips(plan.api_url, token, vessel, args.commands)
        base = baseline(bootstrap_of(home, vessel))
    finally:
        fleet(home, "down", "--purge")
    show("healthy link, request to applied", healthy)
    show(f"64 kbit/s, 600 ms, after a {args.cut:.0f} s cut, request to applied", shaped)
    print(
        f"baseline, raw produce-to-consume (acks=all, vessel cluster): "
        f"p50 {statistics.median(base):.1f} ms, p99 {pct(base, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
