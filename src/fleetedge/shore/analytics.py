"""The fleet analytics: Quix Streams with RocksDB state, changelogs and exactly-once, in 2 stages.

1. **Latest state** (keyed per container, per alert, per vessel link; scales with the
   partitions of ``fleet.windows``, ``fleet.alerts`` and ``fleet.link``): each event updates
   its KTable-like state (:mod:`fleetedge.shore.tables`) and emits a delta keyed by vessel.
   Windows also emit the container's completeness (reading ranges ashore, gaps).
2. **Vessel partials** (keyed by vessel over the partitions of ``<group>.kpi-deltas``): a
   vessel's deltas summed into its partial, written on change to ``fleet.kpi-partials``, a
   compacted table keyed by vessel.

There is no fleet-wide stage: the fleet's KPIs are the sum of the vessels' partials, taken by
whoever reads them (the API, from the projector's rows; :func:`fleetedge.shore.kpis.combine`).
A single fleet partition would see one record per change of the whole fleet and make its
worker the hot spot (it did: two thirds of all the work with two workers). Workers of one
consumer group share the partitions; when one dies the others take its partitions and restore
their state from the changelog topics. Quix Streams' checkpoint commits outputs, changelogs and
offsets in one Kafka transaction, so a crash doubles nothing. The internal topics are named
after the group, so a fresh group (``fleet replay analytics``) rebuilds everything from the
earliest offsets without reading an old generation's deltas.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetedge.events import topics as t
from fleetedge.runtime.health import create_topic
from fleetedge.security.clients import kafka_config
from fleetedge.shore import kpis, ranges, tables

if TYPE_CHECKING:
    from quixstreams import Application, State
    from quixstreams.models import TopicConfig

_log = logging.getLogger(__name__)


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


def ensure_topics(config: AnalyticsConfig) -> None:
    """The fleet topics and this group's internal topics, created if missing."""
    rf = config.replication_factor
    isr = str(min(2, rf))
    outputs = {
        t.FLEET_KPIS.name: config.kpis_topic,
        t.FLEET_COMPLETENESS.name: config.completeness_topic,
    }
    for spec in [*t.SHORE_INPUTS, t.FLEET_KPIS, t.FLEET_COMPLETENESS]:
        create_topic(
            config.bootstrap,
            outputs.get(spec.name, spec.name),
            partitions=spec.partitions,
            replication_factor=rf,
            config={**spec.config, "min.insync.replicas": isr},
        )
    internal = {"retention.ms": str(t.SHORE_RETENTION_MS), "min.insync.replicas": isr}
    create_topic(
        config.bootstrap,
        config.deltas_topic,
        partitions=t.FLEET_WINDOWS.partitions,
        replication_factor=rf,
        config=internal,
    )
    # The state stores' changelogs, made here once rather than by each worker at its start:
    # two workers starting together raced to create them, and the loser failed its start.
    for name, partitions in changelog_topics(config).items():
        create_topic(
            config.bootstrap,
            name,
            partitions=partitions,
            replication_factor=rf,
            config={"cleanup.policy": "compact", "min.insync.replicas": isr},
        )


def changelog_topics(config: AnalyticsConfig) -> dict[str, int]:
    """Each stateful stage's changelog (Quix Streams' naming), with its partition count."""
    sources = {
        t.FLEET_WINDOWS.name: t.FLEET_WINDOWS.partitions,
        t.FLEET_ALERTS.name: t.FLEET_ALERTS.partitions,
        t.FLEET_LINK.name: t.FLEET_LINK.partitions,
        config.deltas_topic: t.FLEET_WINDOWS.partitions,
    }
    return {f"changelog__{config.group}--{name}--default": n for name, n in sources.items()}


# -- stage 1 ---------------------------------------------------------------------------------


def _delta(vessel: str, delta: tables.Delta) -> dict[str, Any]:
    return {"record": "delta", "vessel_id": vessel, "add": delta}


def on_window(value: dict[str, Any], state: State[str, Any]) -> list[dict[str, Any]]:
    old = state.get("c")
    result = tables.apply_window(old, value)
    if result is None:
        return []
    new, delta = result
    state.set("c", new)
    out = [_delta(value["vessel_id"], delta)] if delta else []
    if old is None or new["readings"] != old["readings"]:
        out.append(
            {
                "record": "completeness",
                "vessel_id": new["vessel_id"],
                "container_id": new["container_id"],
                "ranges": new["readings"],
                "gaps": ranges.gaps(new["readings"]),
                "received": ranges.size(new["readings"]),
                "windows": ranges.size(new["windows"]),
            }
        )
    return out


def on_alert(value: dict[str, Any], state: State[str, Any]) -> list[dict[str, Any]]:
    result = tables.apply_alert(state.get("a"), value)
    if result is None:
        return []
    new, delta = result
    state.set("a", new)
    return [_delta(value["vessel_id"], delta)] if delta else []


def on_link(value: dict[str, Any], state: State[str, Any]) -> list[dict[str, Any]]:
    result = tables.apply_link(state.get("l"), value)
    if result is None:
        return []
    new, delta = result
    state.set("l", new)
    return [_delta(value["vessel_id"], delta)] if delta else []


# -- stage 2 ----------------------------------------------------------------------------------


def on_delta(value: dict[str, Any], state: State[str, Any]) -> dict[str, Any]:
    vessel = value["vessel_id"]
    totals = tables.add_delta(state.get("t", {}), value["add"])
    seq = state.get("n", 0) + 1
    state.set("t", totals)
    state.set("n", seq)
    return kpis.partial(vessel, totals, seq)


def _quix() -> tuple[type[Application], type[TopicConfig]]:
    """Quix Streams, imported on first use: its import costs every ``fleet`` command half a
    second otherwise.

    It imports confluent-kafka's schema-registry client, which imports authlib's deprecated
    httpx integration. We use neither. authlib.deprecate installs an "always" filter for that
    warning on import, so ours goes in front of it, or the warning reaches every service log.
    """
    import authlib.deprecate  # noqa: PLC0415, F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from quixstreams import Application  # noqa: PLC0415
    from quixstreams.models import TopicConfig  # noqa: PLC0415

    return Application, TopicConfig


def _connection() -> type[Any]:
    from quixstreams.kafka.configuration import ConnectionConfig  # noqa: PLC0415

    return ConnectionConfig


class FleetAnalytics:
    """One worker of the fleet analytics; run several with the same group to scale out."""

    def __init__(self, config: AnalyticsConfig) -> None:
        self.config = config
        application, self._topic_config = _quix()
        ConnectionConfig = _connection()  # noqa: N806
        self.app: Application = application(
            broker_address=ConnectionConfig.from_librdkafka_dict(kafka_config(config.bootstrap)),
            consumer_group=config.group,
            processing_guarantee="exactly-once",
            auto_offset_reset="earliest",
            # A committed offset below the log start means lost input: fail, never skip.
            auto_recover_from_source_offset_out_of_range=False,
            commit_interval=config.commit_interval_s,
            state_dir=str(config.state_dir),
            loglevel="WARNING",
            consumer_extra_config={"logger": logging.getLogger("fleetedge.runtime.kafka")},
            producer_extra_config={
                "logger": logging.getLogger("fleetedge.runtime.kafka"),
                # Under the group's name, so an ACL on that prefix covers it (Quix would make
                # a bare UUID).
                "transactional.id": f"{config.group}-{uuid.uuid4()}",
            },
        )
        self._build()

    def _topic(self, name: str, partitions: int) -> Any:
        return self.app.topic(
            name,
            key_deserializer="str",
            key_serializer="str",
            config=self._topic_config(
                num_partitions=partitions, replication_factor=self.config.replication_factor
            ),
        )

    def _build(self) -> None:
        deltas = self._topic(self.config.deltas_topic, t.FLEET_WINDOWS.partitions)
        completeness = self._topic(self.config.completeness_topic, t.FLEET_COMPLETENESS.partitions)
        partials = self._topic(self.config.kpis_topic, t.FLEET_KPIS.partitions)

        def route(value: dict[str, Any], *_: Any) -> Any:
            return deltas if value["record"] == "delta" else completeness

        def key_of(value: dict[str, Any]) -> str:
            if value["record"] == "delta":
                return str(value["vessel_id"])
            return f"{value['vessel_id']}/{value['container_id']}"

        for spec, handler in (
            (t.FLEET_WINDOWS, on_window),
            (t.FLEET_ALERTS, on_alert),
            (t.FLEET_LINK, on_link),
        ):
            sdf = self.app.dataframe(self._topic(spec.name, spec.partitions))
            sdf = sdf.apply(handler, stateful=True, expand=True)
            sdf.to_topic(route, key=key_of)
        sdf = self.app.dataframe(deltas).apply(on_delta, stateful=True)
        sdf.to_topic(partials, key=lambda value: str(value["vessel_id"]))

    def run(self, *, timeout: float = 0.0) -> None:
        """Process until stopped (SIGTERM, :meth:`stop`), or ``timeout`` s with no input."""
        self.app.run(timeout=timeout, collect=False)

    def stop(self) -> None:
        self.app.stop()
