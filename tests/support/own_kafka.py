"""A Kafka the test starts itself, with Kafka's own entry point (``kafka.Kafka``) and a
``server.properties`` written here, not through ``fleetedge.runtime``: the cluster a vessel's
IT team would run, for a role that must work against Kafka it did not start."""

from __future__ import annotations

import base64
import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fleetedge.runtime import KafkaRuntime
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until

PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
"""


def _cluster_id() -> str:
    """A random cluster id as Kafka writes them (url-safe base64 of 16 bytes), never one that
    starts with '-': the storage tool would read it as an option (as Kafka's own ids avoid)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not found.startswith("-"):
            return found


def _answers(bootstrap: str) -> bool:
    try:
        return bool(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2).brokers)
    except KafkaException:  # not up yet
        return False


@contextlib.contextmanager
def own_kafka(runtime: KafkaRuntime, directory: Path) -> Iterator[str]:
    """A one-node KRaft Kafka on free ports; its bootstrap. Stopped and left on disk after."""
    broker, controller = free_ports(2)
    directory.mkdir(parents=True, exist_ok=True)
    props = directory / "server.properties"
    props.write_text(
        PROPERTIES.format(broker=broker, controller=controller, data=directory / "data")
    )
    java = [str(runtime.java.path), "-Xmx384m", "-cp", runtime.jars.classpath]
    cluster_id = _cluster_id()
    subprocess.run(
        [*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with (directory / "server.out").open("ab") as out:
        proc = subprocess.Popen(
            [*java, "kafka.Kafka", str(props)], stdout=out, stderr=subprocess.STDOUT
        )
    bootstrap = f"127.0.0.1:{broker}"
    try:
        wait_until(
            lambda: _answers(bootstrap), timeout=120, what="the test's own Kafka", interval=1
        )
        yield bootstrap
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
