"""A vessel's uplinks as MirrorMaker 2 connectors on the shore's Connect cluster.

Each vessel is two ``MirrorSourceConnector`` s, named ``<vessel>.priority`` and
``<vessel>.bulk`` (see :data:`fleetedge.link.mirror.UPLINKS` for what each carries). Both read
the vessel through the link emulator and write ashore, next to the workers: Kafka's "consume
from remote, produce to local". A cut link only makes their consumers wait.

Every client of a vessel's connectors presents the vessel's principal: the MM2 clients through
``source.cluster.*`` and ``target.cluster.*``, the framework's transactional producer, offsets
reader and admin (zombie fencing) through ``producer.override.*``, ``consumer.override.*`` and
``admin.override.*``. Its secret stays in a file the workers read (``${file:...}``), so neither
the config topic nor the REST API shows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from fleetedge.events import topics
from fleetedge.files import write_private
from fleetedge.link.connect import GROUP_ID, IDLE_FETCH_WAIT_MS
from fleetedge.link.mirror import BULK, UPLINKS, Flow, LinkEndpoints
from fleetedge.runtime.config import render_properties

MIRROR_SOURCE = "org.apache.kafka.connect.mirror.MirrorSourceConnector"
SHORE_ALIAS = "shore"
JAAS_KEY = "sasl.jaas.config"
# A vessel id is a topic-safe name without dots: the dot separates it from the topic name
# ashore (DefaultReplicationPolicy), and the ACL prefixes ``<vessel>.`` rely on it.
VESSEL_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def connector_name(vessel: str, flow: Flow) -> str:
    return f"{vessel}.{flow.name}"


def connector_names(vessel: str) -> list[str]:
    return [connector_name(vessel, flow) for flow in UPLINKS]


def transactional_prefix(vessel: str) -> str:
    """The transactional ids of the vessel's tasks: ``<group>-<connector>-<task>``."""
    return f"{GROUP_ID}-{vessel}."


def write_secret(directory: Path, vessel: str, security: Mapping[str, str]) -> Path:
    """The vessel's JAAS line in a 0600 file the workers read; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / f"{vessel}.properties"
    write_private(path, render_properties({JAAS_KEY: security[JAAS_KEY]}))
    return path


def _secured(prefix: str, security: Mapping[str, str], secret: Path | None) -> dict[str, str]:
    """``security`` under ``prefix``, its JAAS line replaced by a reference to ``secret``."""
    props = {f"{prefix}{k}": v for k, v in security.items()}
    if secret is not None and JAAS_KEY in security:
        props[f"{prefix}{JAAS_KEY}"] = f"${{file:{secret}:{JAAS_KEY}}}"
    return props


def _link_tuning(prefix: str, flow: Flow) -> dict[str, str]:
    """Clients that reach the vessel through the link: retry the known brokers, patiently
    (the priority flow's more often, so alerts come first after a cut)."""
    return {
        # Kafka 4 re-bootstraps in a tight loop while every broker is unreachable; across a
        # cut link, retrying the known brokers is right.
        f"{prefix}metadata.recovery.strategy": "none",
        f"{prefix}reconnect.backoff.ms": str(flow.reconnect_ms),
        f"{prefix}reconnect.backoff.max.ms": str(flow.reconnect_max_ms),
        f"{prefix}request.timeout.ms": "120000",
    }


def uplink_config(ends: LinkEndpoints, flow: Flow, secret: Path | None = None) -> dict[str, str]:
    """The config of ``flow``'s connector for the vessel of ``ends``."""
    vessel = ends.vessel
    config: dict[str, str] = {
        "connector.class": MIRROR_SOURCE,
        "tasks.max": "1",
        "source.cluster.alias": vessel,
        "target.cluster.alias": SHORE_ALIAS,
        "source.cluster.bootstrap.servers": ends.vessel_bootstrap,
        "target.cluster.bootstrap.servers": ends.shore_bootstrap,
        "replication.policy.class": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
        "topics": ",".join(re.escape(t) for t in flow.topics),
        "heartbeats.replication.enabled": str(flow.heartbeats).lower(),
        # New topics aboard (and a vessel that was unreachable when the connector started: it
        # then has no task until this refresh finds its topics) are seen within this.
        "refresh.topics.interval.seconds": str(flow.refresh_topics_s),
        "replication.factor": str(ends.shore_replication_factor),
        # Shore ACLs are the fleet's own (fleet security), never copied from a vessel.
        "sync.topic.acls.enabled": "false",
        # Nothing reads offset syncs (no consumer group fails over between vessel and shore);
        # no other offset-syncs.* key may then be given.
        "emit.offset-syncs.enabled": "false",
        # Exactly-once: records and source offsets commit in one transaction ashore.
        "exactly.once.support": "required",
        # The vessel's edge writes in transactions: mirror only what it committed.
        "source.consumer.isolation.level": "read_committed",
        # Small fetches: a bulk response never holds a 64 kbit/s link for long.
        "source.consumer.fetch.max.bytes": str(flow.fetch_max_bytes),
        "source.consumer.max.partition.fetch.bytes": str(
            flow.partition_fetch_max_bytes or flow.fetch_max_bytes
        ),
        # An idle fetch waits at the broker up to 5 s instead of 0.5 s: a tenth of the idle
        # requests (and their packets) on the link. A record still returns it at once. Not
        # longer: a consumer's close waits for its fetches, and a task must stop in seconds.
        "source.consumer.fetch.max.wait.ms": IDLE_FETCH_WAIT_MS,
        **_link_tuning("source.consumer.", flow),
        # Only the records' reader hurries back after a cut. The topic listing (an answer of
        # 5-7 kB, most of a second at 64 kbit/s) comes back with the other flows' clients,
        # after the alerts, not in the same first seconds (bench: restore traces).
        **_link_tuning("source.admin.", BULK),
        "source.admin.default.api.timeout.ms": "180000",
        # Ashore a mirrored topic keeps its vessel's config: zstd, the windows' at level 19. A
        # batch in another codec is recompressed there by the leader, at the topic's level, for
        # every vessel; a zstd batch is stored as sent (only the codec counts, not the level).
        "producer.override.compression.type": topics.LINK_ZSTD["compression.type"],
        # A record is never skipped.
        "errors.tolerance": "none",
        # A task's transactions last one poll. One left open by a worker that died holds back
        # every read-committed reader of Connect's offsets topic (a worker starting, the
        # backlog measure) until it times out: 30 s, not the producer's default minute.
        "producer.override.transaction.timeout.ms": "30000",
    }
    config |= _secured("source.cluster.", ends.vessel_security, secret)
    for prefix in ("target.cluster.", "producer.override.", "consumer.override.",
                   "admin.override."):  # fmt: skip
        config |= _secured(prefix, ends.shore_security, secret)
    return config


def uplink_configs(
    ends: LinkEndpoints, flows: Sequence[Flow] = UPLINKS, secret: Path | None = None
) -> dict[str, dict[str, str]]:
    """Every uplink connector of the vessel, by name."""
    return {connector_name(ends.vessel, f): uplink_config(ends, f, secret) for f in flows}
