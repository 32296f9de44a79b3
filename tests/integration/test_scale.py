"""The scale run in a short form: several single-node vessels on one shore Connect cluster,
every window and alert ashore exactly once (``bench/scale_bench.py`` runs it with 20)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from bench.scale_bench import scale_run

from fleetedge.link.toxiproxy import ToxiproxyBinary
from fleetedge.runtime import KafkaRuntime
from fleetedge.settings import RuntimeSettings
from tests.support.running_fleet import ARTIFACTS

pytestmark = pytest.mark.kafka


def test_many_vessels_on_one_connect_cluster_lose_and_repeat_nothing(
    fleet_home: Path, runtime: KafkaRuntime, settings: RuntimeSettings
) -> None:
    binary = ToxiproxyBinary(settings.cache_dir.parent)
    binary.install()
    figures = scale_run(
        fleet_home / "scale", runtime, binary.path,
        vessels=4, containers=20, windows=3, idle_s=6, say=print,
    )  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "scale-short.json").write_text(json.dumps(asdict(figures), indent=2))
    assert figures.windows_per_vessel == 60
    assert figures.lost == 0
    assert figures.duplicates == 0
    assert figures.worker_rss_mb > 0
