"""Read-model writes are idempotent; the vessel rebuilds a window exactly; the shore's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from fleetedge.edge.backfill import rebuild_windows
from fleetedge.edge.windows import WindowConfig
from fleetedge.events import JSON, ContainerWindow, decode
from fleetedge.events import topics as t
from fleetedge.projections import digest, ensure_projection
from fleetedge.projections import rows as projection_rows
from fleetedge.projections.base import rows
from fleetedge.projections.sqlite import SqliteDatabase
from fleetedge.shore import backfill
from fleetedge.shore.normalizer import Rejected, check
from tests.support.fleet import VesselRun, simulate


@pytest.fixture(scope="module")
def run():
    return simulate("vessel-5", containers=6, minutes=90, seed=3)


def _records(run: VesselRun) -> list[tuple[str, bytes]]:
    return run.fleet_records()


def test_writing_a_batch_twice_changes_nothing(run, tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "rm.db")
    gen = ensure_projection(db)
    records = _records(run)
    with db.transaction() as cur:
        assert projection_rows.write(cur, gen, records) == 0
    once = digest(db, gen)
    with db.transaction() as cur:
        projection_rows.write(cur, gen, records[len(records) // 2 :] + records[:10])
    assert digest(db, gen) == once
    windows = [o for o in run.outputs if o.topic == t.AGGREGATES.name]
    assert len(list(rows(db, gen, "container_windows"))) == len(windows)
    assert len(list(rows(db, gen, "containers"))) == 6
    db.close()


def test_an_older_status_never_replaces_a_newer_one(run, tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "rm.db")
    gen = ensure_projection(db)
    statuses = [r for r in run.fleet_records() if r[0] == t.FLEET_STATUS.name]
    with db.transaction() as cur:
        projection_rows.write(cur, gen, list(reversed(statuses)))
    (vessel,) = rows(db, gen, "vessels")
    assert vessel[1] == json.loads(statuses[-1][1])["seq"]
    db.close()


def test_unreadable_records_are_counted_not_written(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "rm.db")
    gen = ensure_projection(db)
    with db.transaction() as cur:
        skipped = projection_rows.write(cur, gen, [(t.FLEET_WINDOWS.name, b"{not json")])
    assert skipped == 1
    assert list(rows(db, gen, "container_windows")) == []
    db.close()


def test_the_vessel_rebuilds_a_window_exactly_as_the_edge_sent_it(run) -> None:
    sent = [
        w for o in run.of(t.AGGREGATES.name) if isinstance(w := decode(o.value), ContainerWindow)
    ]
    original = sent[len(sent) // 2]
    readings = [r for r in run.readings if r.container_id == original.container_id]
    rebuilt = rebuild_windows(
        "vessel-5",
        original.container_id,
        readings,
        lo=original.first_seq,
        hi=original.last_seq,
        config=WindowConfig(),
    )
    # The same window, marked as rebuilt on request (a report calls it backfilled).
    assert rebuilt == [original.model_copy(update={"resent": True})]


def test_the_shore_refuses_what_a_vessel_may_not_send() -> None:
    from fleetedge.devices.synthetic import alert, window  # noqa: PLC0415

    own = JSON.encode(window("vessel-1", "ABCU0000001", 1))
    route, event = check("vessel-1.reefer.aggregates", own)
    assert route.target == t.FLEET_WINDOWS
    assert route.key(event) == "vessel-1/ABCU0000001"
    cases = {
        "WrongVessel": ("vessel-2.reefer.aggregates", own),
        "WrongTopic": (
            "vessel-1.reefer.aggregates",
            JSON.encode(alert("vessel-1", "ABCU0000001", 1)),
        ),
        "DecodeError": ("vessel-1.reefer.alerts", b"\xc1\xc1"),
    }
    for error, (topic, value) in cases.items():
        with pytest.raises(Rejected) as caught:
            check(topic, value)
        assert caught.value.error == error, caught.value.reason


def test_a_batch_written_at_once_equals_its_records_one_by_one(run, tmp_path: Path) -> None:
    records = _records(run)
    # Duplicates and a stale copy of every tenth record, as a replay or a mirror might bring.
    noisy = records + records[::10] + records[:50]
    at_once, one_by_one = SqliteDatabase(tmp_path / "a.db"), SqliteDatabase(tmp_path / "b.db")
    for db in (at_once, one_by_one):
        ensure_projection(db)
    with at_once.transaction() as cur:
        projection_rows.write(cur, 1, noisy)
    for record in noisy:
        with one_by_one.transaction() as cur:
            projection_rows.write(cur, 1, [record])
    assert digest(at_once, 1) == digest(one_by_one, 1)
    for db in (at_once, one_by_one):
        db.close()


def test_a_backfill_round_skips_a_transient_error_and_raises_any_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def away(_bootstrap: str) -> list[backfill.ContainerGaps]:
        raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION, "moving"))

    def refused(_bootstrap: str) -> list[backfill.ContainerGaps]:
        raise KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "no"))

    requester = backfill.BackfillRequester("127.0.0.1:1")
    try:
        monkeypatch.setattr(backfill, "read_completeness", away)
        assert requester.round("127.0.0.1:1") is None  # the service goes on
        with pytest.raises(KafkaException):  # `--once` says why at once
            requester.round("127.0.0.1:1", retry_later=False)
        monkeypatch.setattr(backfill, "read_completeness", refused)
        with pytest.raises(KafkaException):
            requester.round("127.0.0.1:1")
    finally:
        requester.close()
