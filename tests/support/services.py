"""Shore services as separate processes (``fleet shore ...``), so tests can SIGKILL them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fleetedge.events import topics as t
from fleetedge.runtime.exceptions import ClusterTimeoutError
from fleetedge.runtime.waiting import wait_until
from fleetedge.shore.kpis import combine
from tests.support.verifiable import read_topic


class Service:
    """One ``fleet`` sub-command running in the background, its output in a log file."""

    def __init__(self, log_dir: Path, name: str, *args: str) -> None:
        self.name = name
        self.terminated = False
        self.log = log_dir / f"{name}.log"
        log_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fleetedge.cli", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self) -> None:
        """SIGTERM, once: a second one can land as the interpreter exits, after Python has
        given the signal back its default action, and kill the process (-15)."""
        if self.alive and not self.terminated:
            self.terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60) -> int:
        if self.alive:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    @staticmethod
    def stop_all(services: Iterable[Service], timeout: float = 60) -> list[int]:
        """Stop several together: each is signalled before any is waited for, as a supervisor
        stops them (one at a time, each would leave its group mid-rebalance of the next)."""
        services = list(services)
        for service in services:
            service.terminate()
        return [service.stop(timeout) for service in services]

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def latest_json(bootstrap: str, topic: str, partition: int = 0) -> dict[str, Any] | None:
    """The last committed record of a partition, decoded from JSON (None if empty)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "verify-latest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        tp = TopicPartition(topic, partition)
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
        except KafkaException as exc:
            if exc.args[0].code() in (
                KafkaError.UNKNOWN_TOPIC_OR_PART,
                KafkaError._UNKNOWN_PARTITION,
            ):
                return None  # not created yet
            raise
        if high <= low:
            return None
        # Transaction markers take offsets: look back a little and keep the last record.
        consumer.assign([TopicPartition(topic, partition, max(low, high - 50))])
        last = None
        while True:
            msgs = consumer.consume(100, timeout=2)
            records = [m for m in msgs if not m.error()]
            if records:
                last = records[-1]
            if not msgs or consumer.position([tp])[0].offset >= high:
                break
        return None if last is None else json.loads(last.value())
    finally:
        consumer.close()


def latest_kpis(bootstrap: str, topic: str = t.FLEET_KPIS.name) -> dict[str, Any] | None:
    """The fleet KPIs as a reader takes them: the newest partial of each vessel in ``topic``
    (every committed record read), summed. None while the topic is absent, empty, or still
    without a leader (a topic the workers have just created)."""
    try:
        records = read_topic(bootstrap, topic, timeout=60)
    except KafkaException as exc:
        error = exc.args[0]
        not_yet = (
            KafkaError.UNKNOWN_TOPIC_OR_PART,
            KafkaError._UNKNOWN_PARTITION,
            KafkaError.NOT_LEADER_FOR_PARTITION,
            KafkaError.LEADER_NOT_AVAILABLE,
        )
        if error.code() in not_yet or error.retriable():
            return None
        raise
    latest: dict[str, dict[str, Any]] = {}
    for msg in records:
        doc = json.loads(msg.value())
        held = latest.get(doc["vessel_id"])
        if held is None or doc["seq"] > held["seq"]:
            latest[doc["vessel_id"]] = doc
    return combine(latest.values()) if latest else None


def assignments(bootstrap: str, group: str) -> dict[str, list[tuple[str, int]]] | None:
    """Each member's client id and the partitions it holds, once ``group`` is stable (None
    while it rebalances)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    except KafkaException as exc:
        if exc.args[0].retriable() or exc.args[0].code() in (
            KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
            KafkaError.GROUP_ID_NOT_FOUND,
        ):  # fmt: skip
            return None  # the group or its coordinator not ready yet
        raise
    if described.state != ConsumerGroupState.STABLE:
        return None
    return {
        m.client_id: sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
        for m in described.members
    }


def analytics_workers(
    log_dir: Path, bootstrap: str, group: str, numbers: Iterable[int], state: Path
) -> list[Service]:
    """Workers of ``group`` (numbered ``numbers``), writing to ``<group>.kpis`` and
    ``<group>.completeness`` so that groups side by side never mix their results."""
    return [
        Service(
            log_dir,
            f"{group}-w{i}",
            "shore",
            "analytics",
            "--bootstrap",
            bootstrap,
            "--group",
            group,
            "--state-dir",
            str(state / group / f"w{i}"),
            "--kpis-topic",
            f"{group}.kpis",
            "--completeness-topic",
            f"{group}.completeness",
        )
        for i in numbers
    ]


def final_kpis(bootstrap: str, topic: str, expected: dict[str, Any], timeout: float) -> Any:
    """The KPIs in ``topic`` once they equal ``expected``, change count included; past the
    timeout, a test failure that shows where the last KPIs seen and ``expected`` differ."""
    seen: dict[str, Any] = {}

    def matches() -> dict[str, Any] | None:
        doc = latest_kpis(bootstrap, topic)
        if doc is not None:
            seen.update(doc)
            if doc == expected:
                return doc
        return None

    try:
        return wait_until(matches, timeout=timeout, what=f"KPIs on {topic}", interval=1)
    except ClusterTimeoutError:
        diff = {k: (seen.get(k), v) for k, v in expected.items() if seen.get(k) != v}
        pytest.fail(f"KPIs never matched the oracle; (analytics, oracle) differ at {diff}")
