"""An analytics worker stopped while its group hands it partitions stops cleanly; any other
assignment failure still ends it (shore/analytics.py)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from quixstreams.exceptions import PartitionAssignmentError

from fleetedge.shore.analytics import _closed_mid_assignment


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
