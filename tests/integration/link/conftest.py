"""Fixtures of the link scenarios: the vessel, the shore, Connect and the link service, started
once for the package (tests/support/scheduling.py keeps the package on one worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetedge.runtime import KafkaRuntime
from fleetedge.settings import RuntimeSettings
from tests.integration.link.env import LinkEnv, another_vessel, link_world, whole_and_up
from tests.support.clusters import cluster_factory


@pytest.fixture(scope="package")
def env(
    runtime: KafkaRuntime,
    settings: RuntimeSettings,
    fleet_home: Path,
) -> Iterator[LinkEnv]:
    # Retention is checked every 2 s aboard so the retention test needs no long wait.
    retention = {"log.retention.check.interval.ms": "2000"}
    with (
        cluster_factory(fleet_home, runtime) as make_cluster,
        link_world(
            make_cluster, runtime, settings, fleet_home / "link", vessel_config=retention
        ) as world,
    ):
        yield world


@pytest.fixture
def linked(env: LinkEnv) -> Iterator[LinkEnv]:
    """The link up, unshaped, every node of both clusters running, before and after a test."""
    whole_and_up(env)
    yield env
    whole_and_up(env)


@pytest.fixture
def beside(linked: LinkEnv) -> Iterator[LinkEnv]:
    """A second vessel on the same link (one node: the link is what its test is about)."""
    with another_vessel(linked) as vessel:
        yield vessel
