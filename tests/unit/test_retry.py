"""Retriable means retried: transient Kafka errors are tried again, fatal ones raised at once."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from fleetedge.exceptions import FleetEdgeError
from fleetedge.runtime.retry import Backoff, is_transient, retrying


class _Busy(FleetEdgeError):
    retriable = True


def _kafka(code: int, *, fatal: bool = False, abortable: bool = False) -> KafkaException:
    return KafkaException(KafkaError(code, "x", fatal=fatal, txn_requires_abort=abortable))


def test_which_errors_are_transient() -> None:
    assert is_transient(_kafka(KafkaError.NOT_LEADER_FOR_PARTITION))
    assert is_transient(_kafka(KafkaError.COORDINATOR_LOAD_IN_PROGRESS))
    assert is_transient(_kafka(KafkaError._TRANSPORT))
    # A broker killed under a watermark query (seen in a demo soak as vessel-1's broker died).
    assert is_transient(_kafka(KafkaError._DESTROY_BROKER))
    assert is_transient(_kafka(KafkaError.FENCED_LEADER_EPOCH))
    assert is_transient(_Busy("loading"))
    assert not is_transient(_kafka(KafkaError._FENCED, fatal=True))
    assert not is_transient(_kafka(KafkaError._TIMED_OUT, abortable=True))  # the caller aborts
    assert not is_transient(_kafka(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    assert not is_transient(FleetEdgeError("refused"))
    assert not is_transient(ValueError("bug"))


def test_a_transient_error_is_retried_until_the_call_succeeds() -> None:
    failures = [_kafka(KafkaError.NOT_LEADER_FOR_PARTITION), _kafka(KafkaError._TRANSPORT)]

    def call() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    fast = Backoff(initial=0.01, maximum=0.02)
    assert retrying(call, what="watermarks", backoff=fast) == "done"
    assert not failures


def test_a_fatal_error_is_raised_at_once_and_a_transient_one_at_the_deadline() -> None:
    calls = []

    def fenced() -> None:
        calls.append(1)
        raise _kafka(KafkaError._FENCED, fatal=True)

    with pytest.raises(KafkaException):
        retrying(fenced, what="commit")
    assert len(calls) == 1

    def never() -> None:
        calls.append(1)
        raise _kafka(KafkaError.NOT_LEADER_FOR_PARTITION)

    with pytest.raises(KafkaException):
        retrying(never, what="watermarks", deadline_s=0.2, backoff=Backoff(0.01, 0.02))
    assert len(calls) > 3


def test_backoff_doubles_to_its_maximum_and_resets_after_a_healthy_life() -> None:
    b = Backoff(initial=1.0, maximum=8.0, healthy_after=30.0)
    delays = [0.0]
    for _ in range(5):
        delays.append(b.next(delays[-1]))
    assert delays[1:] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert b.next(8.0, lived=31.0) == 1.0
