"""The README's main job, N times in a row on fresh fleets: every run must end with "nothing
lost", a replay equal to the live read model, alerts ashore first, and no service that exited
(the demo checks its supervisor's snapshot and fails otherwise).

    .venv/bin/python bench/demo_soak.py --runs 10

Prints one line per run and a summary; exits 1 if any run failed. Each run's output is kept in
``test-artifacts/demo-soak/run-N.txt``, and a failed run's service logs in ``run-N-logs/``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "demo-soak"
ORDER = re.compile(r"ashore: the alerts after ([\d.]+)s, the windows after ([\d.]+)s")
EXITS = re.compile(r"all (\d+) services ran the whole story without an exit")


def one_run(index: int, outage_s: int) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="demo-soak-") as home:
        env = {**os.environ, "FLEET_HOME": home, "PYTHONUNBUFFERED": "1"}
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "fleetedge.cli", "demo", "--no-wait", "--free-ports",
             "--outage", str(outage_s)],
            capture_output=True, text=True, env=env, timeout=1800, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - began
        logs = Path(home) / "fleet" / "logs"
        if done.returncode != 0 and logs.is_dir():  # the services' own account of what failed
            shutil.copytree(logs, ARTIFACTS / f"run-{index}-logs", dirs_exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "fleetedge.cli", "down", "--purge"],
            capture_output=True, env=env, timeout=400, check=False,
        )  # fmt: skip
    text = done.stdout + done.stderr
    (ARTIFACTS / f"run-{index}.txt").write_text(text)
    order = ORDER.search(text)
    exits = EXITS.search(text)
    ok = (
        done.returncode == 0
        and "   nothing lost" in text
        and order is not None
        and float(order[1]) <= float(order[2])
        and exits is not None
    )
    drains = f"alerts {order[1]}s, windows {order[2]}s" if order else "no drain measured"
    services = f"{exits[1]} services, no exit" if exits else "a service exited or no check"
    verdict = "ok" if ok else f"FAILED (exit {done.returncode})"
    return ok, f"run {index}: {verdict} in {seconds:.0f}s; {drains}; {services}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--outage", type=int, default=30, help="seconds the link stays cut")
    args = parser.parse_args()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    passed = 0
    for index in range(1, args.runs + 1):
        ok, line = one_run(index, args.outage)
        passed += ok
        print(line, flush=True)
    print(f"{passed} of {args.runs} demos passed")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
