"""The analytics' topics and settings: made once, idempotently, and seen before a worker starts.

Every worker runs :func:`ensure_topics` then :func:`await_topics` at its start, so any number
of them can start together on a shore with no topic yet: a create that loses the race counts
as made, and no worker builds its Quix Streams application before every topic it uses has a
leader on every partition.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException

from fleetedge.events import topics as t
from fleetedge.runtime.health import create_topic, metadata
from fleetedge.runtime.waiting import wait_until


@dataclass(frozen=True)
class AnalyticsConfig:
    bootstrap: str
    state_dir: Path
    group: str = "fleet-analytics"
    commit_interval_s: float = 1.0
    replication_factor: int = 3
    # Where the results go; a side-by-side run (a comparison, a rebuild) may write elsewhere.
    kpis_topic: str = t.FLEET_KPIS.name
    completeness_topic: str = t.FLEET_COMPLETENESS.name

    @property
    def deltas_topic(self) -> str:
        return f"{self.group}.kpi-deltas"


def shore_topics(config: AnalyticsConfig) -> dict[str, tuple[int, dict[str, str]]]:
    """The fleet topics and this group's internal topics: name → (partitions, config)."""
    isr = str(min(2, config.replication_factor))
    outputs = {
        t.FLEET_KPIS.name: config.kpis_topic,
        t.FLEET_COMPLETENESS.name: config.completeness_topic,
    }
    wanted = {
        outputs.get(spec.name, spec.name): (spec.partitions, spec.config)
        for spec in [*t.SHORE_INPUTS, t.FLEET_KPIS, t.FLEET_COMPLETENESS]
    }
    internal = {"retention.ms": str(t.SHORE_RETENTION_MS)}
    wanted[config.deltas_topic] = (t.FLEET_WINDOWS.partitions, internal)
    # The state stores' changelogs, made here rather than by Quix in each worker: two workers
    # starting together raced to create them, and the loser failed its start.
    for name, partitions in changelog_topics(config).items():
        wanted[name] = (partitions, {"cleanup.policy": "compact"})
    return {
        name: (partitions, {**settings, "min.insync.replicas": isr})
        for name, (partitions, settings) in wanted.items()
    }


def ensure_topics(config: AnalyticsConfig) -> None:
    """The :func:`shore_topics`, created if missing.

    Every worker calls this at its start (then :func:`await_topics`), so creation is
    idempotent: a topic another worker made a moment before counts as made.
    """
    for name, (partitions, settings) in shore_topics(config).items():
        create_topic(
            config.bootstrap,
            name,
            partitions=partitions,
            replication_factor=config.replication_factor,
            config=settings,
        )


def await_topics(config: AnalyticsConfig, *, timeout: float = 60.0) -> None:
    """Return once every partition of every topic a worker uses has a leader.

    This closes the other half of the start race: Quix Streams looks each topic up as it
    starts, and a topic another worker created a moment ago may not be in every broker's
    metadata yet. Only the worker's own topics: on a secured shore it sees no others.
    """
    used = {
        config.kpis_topic: t.FLEET_KPIS.partitions,
        config.completeness_topic: t.FLEET_COMPLETENESS.partitions,
        config.deltas_topic: t.FLEET_WINDOWS.partitions,
        t.FLEET_DLQ.name: t.FLEET_DLQ.partitions,
        **{spec.name: spec.partitions for spec in (t.FLEET_WINDOWS, t.FLEET_ALERTS, t.FLEET_LINK)},
        **changelog_topics(config),
    }
    wait_until(
        lambda: _led(config.bootstrap, used),
        timeout=timeout,
        what=f"leaders for every partition of the {len(used)} analytics topics",
        interval=0.5,
    )


def _led(bootstrap: str, wanted: dict[str, int]) -> bool:
    try:
        led = Counter(p.topic for p in metadata(bootstrap).partitions if p.leader >= 0)
    except KafkaException:
        return False  # the shore briefly unreachable: look again

    return all(led[name] == partitions for name, partitions in wanted.items())


def changelog_topics(config: AnalyticsConfig) -> dict[str, int]:
    """Each stateful stage's changelog (Quix Streams' naming), with its partition count."""
    sources = {
        t.FLEET_WINDOWS.name: t.FLEET_WINDOWS.partitions,
        t.FLEET_ALERTS.name: t.FLEET_ALERTS.partitions,
        t.FLEET_LINK.name: t.FLEET_LINK.partitions,
        config.deltas_topic: t.FLEET_WINDOWS.partitions,
    }
    return {f"changelog__{config.group}--{name}--default": n for name, n in sources.items()}
