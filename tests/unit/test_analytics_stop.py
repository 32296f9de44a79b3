"""An analytics worker stopped while its group hands it partitions stops cleanly; any other
assignment failure still ends it. Processing that fails on a transient Kafka error resumes on
a new client; a fatal one ends the worker (shore/analytics.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.exceptions import PartitionAssignmentError
from quixstreams.kafka.exceptions import KafkaProducerDeliveryError

from fleetedge.runtime.retry import Backoff
from fleetedge.shore.analytics import _closed_mid_assignment, failed_transiently, run_worker
from fleetedge.shore.provision import AnalyticsConfig


def _assignment_error(code: int) -> PartitionAssignmentError:
    """What Quix raises: the client's error, chained (``raise ... from``)."""
    wrapped = PartitionAssignmentError("Error during partition assignment")
    wrapped.__cause__ = KafkaException(KafkaError(code))
    return wrapped


def test_the_offset_read_cut_by_the_workers_own_close_is_a_clean_stop() -> None:
    # Seen in a cold start: both workers of a group stopped as it gave them partitions.
    assert _closed_mid_assignment(_assignment_error(KafkaError._DESTROY))


def test_an_assignment_that_fails_for_another_reason_is_not_excused() -> None:
    assert not _closed_mid_assignment(_assignment_error(KafkaError._TIMED_OUT))
    assert not _closed_mid_assignment(PartitionAssignmentError("no cause"))
    assert not _closed_mid_assignment(KafkaException(KafkaError(KafkaError._DESTROY)))


# -- a failed transaction resumes (run_worker) ---------------------------------------------------


def test_a_transaction_that_timed_out_is_a_transient_failure() -> None:
    """What a fresh-clone run's worker died of: its records timed out in a transaction on a
    loaded shore, and the abort that followed timed out too."""
    aborting = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    aborting.__context__ = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    assert failed_transiently(aborting)
    assert not failed_transiently(ValueError("a bug"))
    assert not failed_transiently(KafkaException(KafkaError(KafkaError._SSL, fatal=True)))


def test_a_transaction_its_coordinator_aborted_for_time_resumes() -> None:
    """Seen as leadership moved under a loaded shore: the coordinator aborted a transaction
    that outlived its 10 s and bumped the producer's epoch, and the worker's EndTxn came back
    fenced (fatal for that client). No other instance shares its transactional id."""
    fenced = KafkaException(
        KafkaError(
            KafkaError._FENCED,
            "Failed to end transaction: Local: This instance has been fenced by a newer instance",
            fatal=True,
        )
    )
    assert failed_transiently(fenced)


def test_records_not_delivered_in_time_at_a_checkpoint_are_a_transient_failure() -> None:
    """Seen in a fresh-clone run: Quix's flush at a checkpoint raised its own wrapper of the
    client's error for records that timed out in the transaction (the worker exited 1)."""
    assert failed_transiently(KafkaProducerDeliveryError(KafkaError(KafkaError._MSG_TIMED_OUT)))
    assert failed_transiently(KafkaProducerDeliveryError(KafkaError(KafkaError._TRANSPORT)))
    too_big = KafkaProducerDeliveryError(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert not failed_transiently(too_big)


class _Once:
    """A worker whose first run fails as that one did, and whose second runs until stopped."""

    made: ClassVar[list[_Once]] = []

    def __init__(self, _config: AnalyticsConfig) -> None:
        _Once.made.append(self)

    def run(self, stop: threading.Event, *, timeout: float = 0.0) -> None:  # noqa: ARG002
        if len(_Once.made) == 1:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        stop.set()


def test_the_worker_resumes_on_a_new_client_after_a_transient_failure(tmp_path: Path) -> None:
    _Once.made.clear()
    stop = threading.Event()
    run_worker(
        AnalyticsConfig("127.0.0.1:9", tmp_path),
        stop,
        backoff=Backoff(initial=0.01, maximum=0.01),
        make=_Once,  # type: ignore[arg-type]
    )
    assert len(_Once.made) == 2


def test_a_fatal_failure_still_ends_the_worker(tmp_path: Path) -> None:
    class Broken(_Once):
        def run(self, stop: threading.Event, *, timeout: float = 0.0) -> None:  # noqa: ARG002
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_worker(AnalyticsConfig("127.0.0.1:9", tmp_path), threading.Event(), make=Broken)  # type: ignore[arg-type]
