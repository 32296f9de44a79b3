"""Clusters for tests: on free ports, with unique names, purged when their holder is done."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from fleetedge.runtime import KafkaCluster, KafkaRuntime, free_node_ports


@contextlib.contextmanager
def cluster_factory(home: Path, runtime: KafkaRuntime) -> Iterator[Callable[..., KafkaCluster]]:
    """A factory of clusters on free ports with unique names; all are purged on leaving."""
    made: list[KafkaCluster] = []

    def make(
        nodes: int = 3, start: bool = True, link: bool = False, **overrides: str
    ) -> KafkaCluster:
        name = f"c-{uuid.uuid4().hex[:8]}"
        cluster = KafkaCluster.create(
            name,
            home=home,
            runtime=runtime,
            ports=free_node_ports(nodes, link=link),
            overrides=overrides,
        )
        made.append(cluster)
        if start:
            cluster.up()
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            cluster.down(purge=True)
