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

import faulthandler
import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter as Metric

from fleetedge.events import JSON, EventError
from fleetedge.events import topics as t
from fleetedge.runtime.retry import GROUP_SESSION_TIMEOUT_MS, Backoff, is_transient
from fleetedge.security.clients import kafka_config
from fleetedge.shore import admission, kpis, ranges, tables
from fleetedge.shore.provision import AnalyticsConfig

if TYPE_CHECKING:
    from quixstreams import Application, State
    from quixstreams.models import TopicConfig

_log = logging.getLogger(__name__)
DEAD_LETTERS = Metric(
    "fleetedge_analytics_dead_letters_total", "fleet records the analytics refused", ["error"]
)
RESUMES = Metric(
    "fleetedge_analytics_resumes_total", "processing resumed after a transient Kafka failure"
)


# -- stage 1 ---------------------------------------------------------------------------------

SERVICE = "shore-analytics"
SHUTDOWN_S = 30.0  # a stop that takes longer than this is a hang: see FleetAnalytics.run
Handler = Callable[[dict[str, Any], "State[str, Any]"], list[dict[str, Any]]]


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


def admitted(handler: Handler) -> Callable[..., list[dict[str, Any]]]:
    """``handler`` behind the admission check: a record that is not the event its topic
    carries becomes a dead letter (``record: dead``) and touches no state."""

    def checked(
        raw: bytes | None, key: bytes | None, timestamp: int, _headers: Any, state: State[str, Any]
    ) -> list[dict[str, Any]]:
        ctx = _context()
        try:
            value = admission.admit(ctx.topic, raw)
        except EventError as exc:
            source = admission.Source(ctx.topic, ctx.partition, ctx.offset, timestamp)
            name = (key or b"").decode(errors="replace")
            letter = admission.dead_letter(
                SERVICE, source, raw or b"", vessel=admission.vessel_of(name),
                error=type(exc).__name__, reason=exc.reason, field=exc.field,
            )  # fmt: skip
            DEAD_LETTERS.labels(type(exc).__name__).inc()
            _log.warning("record dead-lettered", extra={"topic": ctx.topic, "reason": exc.reason})
            return [{"record": "dead", "key": key or b"", "letter": JSON.encode(letter)}]
        return handler(value, state)

    return checked


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

    class Worker(Application):
        def _setup_signal_handlers(self) -> None:
            """SIGTERM and SIGINT stay the command's (:meth:`FleetAnalytics.run`'s ``stop``).
            Quix would install its own at the start of ``run()``, replacing the command's."""

        def _on_assign(self, consumer: Any, topic_partitions: list[Any]) -> None:
            """Partitions handed over once the worker is stopping (the group rebalances as
            its consumer closes) are not taken up: Quix would read their committed offsets
            from the closing client, which blocked past the shutdown limit. The client
            assigns them itself and gives them back as it leaves; nothing was processed."""
            if self._stop_event.is_set():
                return
            super()._on_assign(consumer, topic_partitions)

    return Worker, TopicConfig


def _connection() -> type[Any]:
    from quixstreams.kafka.configuration import ConnectionConfig  # noqa: PLC0415

    return ConnectionConfig


def _context() -> Any:
    from quixstreams import message_context  # noqa: PLC0415

    return message_context()


def _letters() -> Any:
    """A Quix serializer that writes a dead letter's encoded bytes, the envelope dropped."""
    from quixstreams.models.serializers import Serializer  # noqa: PLC0415

    class Letters(Serializer):
        def __call__(self, value: dict[str, Any], ctx: Any) -> bytes:  # noqa: ARG002
            return bytes(value["letter"])

    return Letters()


def client_id(group: str, pid: int | None = None) -> str:
    """A worker's Kafka client id: its group, host and pid (this process's by default), so an
    operator (or a test) can tell from the group's description which process holds what."""
    return f"{group}-{socket.gethostname()}-{pid or os.getpid()}"


class FleetAnalytics:
    """One worker of the fleet analytics; run several with the same group to scale out."""

    def __init__(self, config: AnalyticsConfig) -> None:
        self.config = config
        self._stop = threading.Event()
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
            consumer_extra_config={
                "logger": logging.getLogger("fleetedge.runtime.kafka"),
                "client.id": client_id(config.group),
                # A killed worker's partitions move on after 10 s, not librdkafka's 45.
                "session.timeout.ms": GROUP_SESSION_TIMEOUT_MS,
                # A broker answers one connection's requests in order, so each offsets query
                # Quix makes per assigned store (one per partition) waits behind the fetch in
                # flight: librdkafka's 500 ms made an assignment of 36 partitions take 18 s,
                # and a stop meanwhile waited for it.
                "fetch.wait.max.ms": 100,
            },
            producer_extra_config={
                "logger": logging.getLogger("fleetedge.runtime.kafka"),
                # Under the group's name, so an ACL on that prefix covers it (Quix would make
                # a bare UUID).
                "transactional.id": f"{config.group}-{uuid.uuid4()}",
                # A killed worker's open transaction holds back every read_committed reader of
                # its outputs until it times out: 10 s as in Kafka Streams, not 60.
                "transaction.timeout.ms": 10_000,
            },
        )
        self._build()

    def _topic(self, name: str, partitions: int, **serdes: Any) -> Any:
        return self.app.topic(
            name,
            **{"key_deserializer": "str", "key_serializer": "str", **serdes},
            config=self._topic_config(
                num_partitions=partitions, replication_factor=self.config.replication_factor
            ),
        )

    def _build(self) -> None:
        deltas = self._topic(self.config.deltas_topic, t.FLEET_WINDOWS.partitions)
        completeness = self._topic(self.config.completeness_topic, t.FLEET_COMPLETENESS.partitions)
        partials = self._topic(self.config.kpis_topic, t.FLEET_KPIS.partitions)
        dlq = self._topic(
            t.FLEET_DLQ.name, t.FLEET_DLQ.partitions, key_serializer="bytes",
            value_serializer=_letters(),
        )  # fmt: skip
        routes = {"delta": deltas, "completeness": completeness, "dead": dlq}

        def route(value: dict[str, Any], *_: Any) -> Any:
            return routes[value["record"]]

        def key_of(value: dict[str, Any]) -> str | bytes:
            if value["record"] == "delta":
                return str(value["vessel_id"])
            if value["record"] == "dead":
                return bytes(value["key"])
            return f"{value['vessel_id']}/{value['container_id']}"

        for spec, handler in (
            (t.FLEET_WINDOWS, on_window),
            (t.FLEET_ALERTS, on_alert),
            (t.FLEET_LINK, on_link),
        ):
            # Raw bytes in: each record is checked (admission.py) before it meets a state.
            source = self._topic(
                spec.name, spec.partitions, key_deserializer="bytes", value_deserializer="bytes"
            )
            sdf = self.app.dataframe(source)
            sdf = sdf.apply(admitted(handler), stateful=True, expand=True, metadata=True)
            sdf.to_topic(route, key=key_of)
        sdf = self.app.dataframe(deltas).apply(on_delta, stateful=True)
        sdf.to_topic(partials, key=lambda value: str(value["vessel_id"]))

    def run(self, stop: threading.Event | None = None, *, timeout: float = 0.0) -> None:
        """Process until ``stop`` is set (or :meth:`stop` is called), or ``timeout`` s with no
        input.

        Quix's ``run()`` forgets a ``stop()`` made before it got going (it resets its run
        state first), so a watcher repeats the stop until ``run()`` returns. A shutdown that
        takes longer than ``SHUTDOWN_S`` (a broker call that never answers) prints every
        thread's stack and exits 1: the open transaction aborts, so nothing is lost.
        """
        stop = stop or threading.Event()
        self._stop = stop
        finished = threading.Event()

        def enforce() -> None:
            stop.wait()
            deadline = time.monotonic() + SHUTDOWN_S
            _log.info("analytics worker stopping")
            while not finished.wait(0.2):
                self.app.stop()
                if time.monotonic() > deadline:
                    faulthandler.dump_traceback(all_threads=True)
                    _log.error("analytics worker did not stop in %.0f s; exiting", SHUTDOWN_S)
                    os._exit(1)

        threading.Thread(target=enforce, name="stop-watch", daemon=True).start()
        try:
            self.app.run(timeout=timeout, collect=False)
        except Exception as exc:
            if not (stop.is_set() and _closed_mid_assignment(exc)):
                raise
            # Stopped while the group gave it partitions: the assignment's offset read met the
            # closing client. Nothing was processed for them, so there is nothing to lose.
            _log.info("analytics worker stopped during a partition assignment")
        finally:
            finished.set()

    def stop(self) -> None:
        self._stop.set()


def run_worker(
    config: AnalyticsConfig,
    stop: threading.Event,
    *,
    timeout: float = 0.0,
    backoff: Backoff | None = None,
    on_start: Callable[[FleetAnalytics], None] | None = None,
    make: Callable[[AnalyticsConfig], FleetAnalytics] | None = None,
) -> None:
    """Run a worker until ``stop`` (or ``timeout`` s idle). Processing that fails on a
    transient Kafka error (a transaction whose records timed out on a loaded or moving
    cluster, or that its coordinator aborted for time, say) resumes, after a backoff, on a new
    worker from the last checkpoint: the failed transaction is aborted, so nothing is lost or
    counted twice. Anything else ends the worker. ``make`` builds each worker (FleetAnalytics)."""
    backoff = backoff or Backoff(initial=1.0, maximum=30.0)
    delay = 0.0
    while not stop.is_set():
        began = time.monotonic()
        try:
            worker = (make or FleetAnalytics)(config)
            if on_start is not None:
                on_start(worker)
            worker.run(stop, timeout=timeout)
        except Exception as exc:
            if stop.is_set() or not failed_transiently(exc):
                raise
            delay = backoff.next(delay, time.monotonic() - began)
            RESUMES.inc()
            _log.warning(
                "analytics processing failed on a transient error; resuming from the last "
                "checkpoint in %.0fs: %s", delay, exc,
            )  # fmt: skip
            stop.wait(delay)  # the backoff; a stop ends it
        else:
            return


def failed_transiently(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is a Kafka error that passes: a
    transient one, or a transaction the broker lets the producer abort. Quix raises the
    client's errors as they come (``KafkaException``) or wrapped in its own (a record not
    delivered in time, found at a checkpoint's flush: ``KafkaProducerDeliveryError``)."""
    from confluent_kafka import KafkaError, KafkaException  # noqa: PLC0415
    from quixstreams.kafka.exceptions import BaseKafkaException  # noqa: PLC0415

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KafkaException) and seen.args and isinstance(seen.args[0], KafkaError):
            error: KafkaError = seen.args[0]
            if not error.fatal() and (error.txn_requires_abort() or is_transient(seen)):
                return True
            if error.code() == KafkaError._FENCED:
                # Each worker's transactional id is its own (a UUID per client), so no other
                # instance can fence it: only its coordinator can, aborting a transaction that
                # outlived transaction.timeout.ms on a loaded shore. A new client resumes.
                return True
        if isinstance(seen, BaseKafkaException) and isinstance(seen.error, KafkaError):
            # Its transaction is aborted as the worker resumes, and the records written
            # again from the last checkpoint.
            undelivered = seen.error.code() == KafkaError._MSG_TIMED_OUT
            if undelivered or failed_transiently(KafkaException(seen.error)):
                return not seen.error.fatal()
        seen = seen.__cause__ or seen.__context__
    return False


def _closed_mid_assignment(exc: BaseException) -> bool:
    """Quix's PartitionAssignmentError caused by the client's own close (``_DESTROY``)."""
    from confluent_kafka import KafkaError, KafkaException  # noqa: PLC0415
    from quixstreams.exceptions import PartitionAssignmentError  # noqa: PLC0415

    if not isinstance(exc, PartitionAssignmentError):
        return False
    cause = exc.__cause__
    error = cause.args[0] if isinstance(cause, KafkaException) and cause.args else None
    return isinstance(error, KafkaError) and error.code() == KafkaError._DESTROY
