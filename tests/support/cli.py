"""Running the ``fleet`` command as a user does: a separate process with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fleetedge.settings import RuntimeSettings


def fleet(
    *args: str,
    home: Path,
    settings: RuntimeSettings,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``fleet ARGS`` with FLEET_HOME=home; ``env`` entries override (None-free) the rest."""
    environ = {**os.environ, "FLEET_HOME": str(home), "FLEET_CACHE_DIR": str(settings.cache_dir)}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fleetedge.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        check=False,
    )


def fleet_json(*args: str, home: Path, settings: RuntimeSettings) -> Any:
    done = fleet(*args, "--json", home=home, settings=settings)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
