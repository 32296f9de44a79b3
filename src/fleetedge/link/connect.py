"""The shore's Kafka Connect cluster (distributed mode): one group of workers for every vessel.

Every vessel's uplinks are MirrorMaker 2 connectors on this one cluster (see
:mod:`fleetedge.link.connectors`). The workers share the tasks, rebalance when one joins or
dies, and take new connectors over REST without a restart: Kafka's own engine for the job,
as Strimzi's ``KafkaMirrorMaker2`` runs it.

- Internal topics (configs, offsets, status) live on the shore, replicated like any other.
- Exactly-once source support is on (KIP-618): a task's records and its source offsets commit
  in one transaction ashore. It is cluster-wide, so every connector here is transactional.
- Converters are byte arrays: records cross unchanged, as in MirrorMaker 2's dedicated mode.
- A worker's own clients authenticate as the ``svc-connect`` principal; each connector's
  clients present its vessel's principal through ``*.override.*`` settings whose secrets the
  worker reads from files (``${file:...}``), so no password sits in a connector config.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fleetedge.files import write_private
from fleetedge.link.exceptions import MirrorStartError
from fleetedge.link.rest import ConnectRest
from fleetedge.runtime.config import log4j2_text, render_properties
from fleetedge.runtime.jvm import KafkaRuntime, MarkedJvm
from fleetedge.runtime.waiting import wait_until

CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
GROUP_ID = "fleet-link"
CONFIGS_TOPIC = f"{GROUP_ID}-configs"
OFFSETS_TOPIC = f"{GROUP_ID}-offsets"
STATUS_TOPIC = f"{GROUP_ID}-status"
BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
WORKER_HEAP_MB = 512
# The client-side JIT only, small thread stacks and a bounded metaspace: a worker carries a
# satellite link's worth of records per vessel, never a datacentre's.
WORKER_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:MaxMetaspaceSize=160m")


# The worker's readers of its internal topics ("fetch.") and each exactly-once task's reader of
# the offsets topic ("consumer.") wait 5 s for data, not 500 ms: a broker answers a waiting
# fetch as soon as a record arrives, so this costs no latency, only idle requests (a dozen
# per second ashore per vessel, each a TLS round trip on a secured shore).
IDLE_FETCH_WAIT_MS = "5000"  # also the uplinks' source consumers' and the downlink's readers'
IDLE_FETCH = {
    "fetch.max.wait.ms": IDLE_FETCH_WAIT_MS,
    "consumer.fetch.max.wait.ms": IDLE_FETCH_WAIT_MS,
}


@dataclass(frozen=True)
class ConnectSettings:
    """What every worker of the cluster shares (the REST port is each worker's own)."""

    shore_bootstrap: str
    replication_factor: int = 3
    # The worker principal's Java client settings (SASL_SSL) when the shore is secured.
    security: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # How long a departed worker's tasks wait for it before they move (Connect's default is
    # five minutes; a vessel's alerts should not wait that long).
    rebalance_delay_ms: int = 10_000


def worker_properties(settings: ConnectSettings, rest_port: int) -> dict[str, str]:
    """The properties of one worker, listening for REST on ``127.0.0.1:rest_port``."""
    rf = str(settings.replication_factor)
    props = {
        "bootstrap.servers": settings.shore_bootstrap,
        "group.id": GROUP_ID,
        "config.storage.topic": CONFIGS_TOPIC,
        "offset.storage.topic": OFFSETS_TOPIC,
        "status.storage.topic": STATUS_TOPIC,
        "config.storage.replication.factor": rf,
        "offset.storage.replication.factor": rf,
        "status.storage.replication.factor": rf,
        # 400 vessels x 2 uplinks x a few partitions each fit well in 10 partitions.
        "offset.storage.partitions": "10",
        "status.storage.partitions": "5",
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "exactly.once.source.support": "enabled",
        # Every plugin on our class path has a ServiceLoader manifest: no reflective scan.
        "plugin.discovery": "service_load",
        "listeners": f"http://127.0.0.1:{rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(rest_port),
        "rest.advertised.listener": "http",
        "scheduled.rebalance.max.delay.ms": str(settings.rebalance_delay_ms),
        # A connector's clients present its vessel's principal (KIP-458).
        "connector.client.config.override.policy": "All",
        "config.providers": "file",
        "config.providers.file.class": (
            "org.apache.kafka.common.config.provider.FileConfigProvider"
        ),
        "offset.flush.interval.ms": "5000",
        "task.shutdown.graceful.timeout.ms": "5000",
        **IDLE_FETCH,
    }
    # The worker's own clients (group membership, internal topics, the leader's transactional
    # config writes) present the worker's principal.
    props |= dict(settings.security)
    return props


class ConnectWorker(MarkedJvm):
    """One worker JVM, found again from any process by its marker directory."""

    def __init__(
        self, runtime: KafkaRuntime, directory: Path, settings: ConnectSettings, rest_port: int
    ) -> None:
        self.runtime = dataclasses.replace(
            runtime,
            heap_mb=WORKER_HEAP_MB,
            extra_options=(*runtime.extra_options, *WORKER_JVM_OPTIONS),
        )
        super().__init__(directory)
        self.settings = settings
        self.rest_port = rest_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def command(self) -> list[str]:
        """Write the worker's files; the command line that runs it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "worker.properties"
        # It may hold the worker principal's password: readable by its owner only.
        write_private(config, render_properties(worker_properties(self.settings, self.rest_port)))
        log4j = self.directory / "log4j2.properties"
        log4j.write_text(log4j2_text())
        return self.runtime.command(
            CONNECT_MAIN, [str(config)], log_dir=self.log_dir, log4j_config=log4j,
            marker=self.directory,
        )  # fmt: skip

    def start(self) -> None:
        """Start the JVM as a child of this process (tests, benchmarks)."""
        if self.alive():
            return
        self._child = self.runtime.spawn_command(self.command(), log_dir=self.log_dir)

    def exec(self) -> None:
        """Become the worker (``fleet link worker``): the supervisor's child is the JVM itself,
        so a signal to the service is a signal to the worker."""
        command = self.command()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        os.execv(command[0], command)  # noqa: S606 - our own java, an argument list


def connect_dir(home: Path) -> Path:
    """Where the workers of a fleet home keep their files (under the link's directory)."""
    return home / "link" / "connect"


class ConnectGroup:
    """Workers of one Connect cluster started by this process (tests, benchmarks; the fleet
    runs each worker as a supervised service instead)."""

    def __init__(
        self,
        runtime: KafkaRuntime,
        directory: Path,
        settings: ConnectSettings,
        rest_ports: Sequence[int],
    ) -> None:
        self.workers = [
            ConnectWorker(runtime, directory / f"worker-{k}", settings, port)
            for k, port in enumerate(rest_ports, start=1)
        ]

    @property
    def urls(self) -> list[str]:
        return [w.url for w in self.workers]

    def start(self, timeout: float = 180.0) -> ConnectRest:
        """Start every worker; return a REST client once one answers."""
        for worker in self.workers:
            worker.start()
        rest = ConnectRest(self.urls, timeout=30)

        def answers() -> bool:
            if not any(w.alive() for w in self.workers):
                tails = "\n".join(w.log_tail(10) for w in self.workers)
                raise MirrorStartError(f"every Connect worker exited:\n{tails}")
            return rest.alive()

        wait_until(answers, timeout=timeout, what="Connect's REST API")
        return rest

    def stop(self) -> None:
        """Stop every worker cleanly, side by side: one after the other, each took over the
        tasks of the one before (a rebalance) only to stop them again."""
        for worker in self.workers:
            worker.signal_stop()
        for worker in self.workers:
            worker.stop()

    def kill(self) -> None:
        """SIGKILL every worker: for a group whose data is deleted next (tests, benchmarks)."""
        for worker in self.workers:
            worker.kill()

    def __enter__(self) -> ConnectRest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
