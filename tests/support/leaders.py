"""Move partition leadership under running clients, as a broker's restart or an operator's
rebalance does, without killing anything: every partition's replica list is rotated (same
replicas, so no data moves) with Kafka's own ReassignPartitionsCommand, then a preferred-leader
election hands each partition, the group and transaction coordinators' included, to the next
replica."""

from __future__ import annotations

import json
from pathlib import Path

from confluent_kafka import ElectionType, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fleetedge.runtime import KafkaRuntime
from fleetedge.runtime.waiting import wait_until
from fleetedge.security.clients import auth_for, kafka_config

REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"


def leaders(bootstrap: str) -> dict[tuple[str, int], int]:
    """Each partition's leader (partitions without one left out)."""
    md = AdminClient(kafka_config(bootstrap)).list_topics(timeout=30)
    return {
        (name, p): part.leader
        for name, topic in md.topics.items()
        for p, part in topic.partitions.items()
        if part.leader >= 0
    }


def move_leaders(runtime: KafkaRuntime, bootstrap: str, work: Path) -> int:
    """Move the leadership of every replicated partition to another broker; the number moved."""
    admin = AdminClient(kafka_config(bootstrap))
    md = admin.list_topics(timeout=30)
    rotated = {
        (name, p): [*part.replicas[1:], part.replicas[0]]
        for name, topic in md.topics.items()
        for p, part in topic.partitions.items()
        if len(part.replicas) > 1
    }
    before = leaders(bootstrap)
    work.mkdir(parents=True, exist_ok=True)
    plan = work / "rotate.json"
    plan.write_text(
        json.dumps(
            {
                "version": 1,
                "partitions": [
                    {"topic": t, "partition": p, "replicas": r} for (t, p), r in rotated.items()
                ],
            }
        )
    )
    args = ["--bootstrap-server", bootstrap, "--reassignment-json-file", str(plan)]
    auth = auth_for(bootstrap)
    if auth is not None:
        props = work / "admin.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in auth.java().items()))
        props.chmod(0o600)
        args += ["--command-config", str(props)]
    code, out = runtime.run_tool(REASSIGN, [*args, "--execute"])
    assert code == 0, out
    # The replicas stay the same, so the reassignment completes at once; the election makes
    # each partition's new first replica its leader.
    partitions = [TopicPartition(t, p) for t, p in rotated]

    def moved() -> int:
        try:  # per-partition refusals (not yet in sync) come back in the result: ask again
            admin.elect_leaders(ElectionType.PREFERRED, partitions).result(timeout=60)
        except KafkaException:
            return 0
        now = leaders(bootstrap)
        done = [k for k, r in rotated.items() if now.get(k) == r[0]]
        return len(done) if len(done) == len(rotated) else 0

    count = wait_until(
        moved, timeout=120, what="every partition led by its new first replica", interval=1
    )
    assert any(before.get(k) != r[0] for k, r in rotated.items())
    return count
