"""Cold-chain reports over a scripted voyage: the simulator's readings through the edge's own
window logic, projected as the shore would hold them, and every figure of the report checked
against an oracle computed from the raw readings (tests/support/voyage.py).

The voyage lasts 13.5 days. Three boxes of cold-treated fruit sail under T107-a (pulp at or
below 1.11 °C for 12 days, 1.67 °C for 14 or 2.22 °C for 16):
- the first is held, through a door opening, a power loss, a compressor trip (an excursion) and
  a defrost, and passes;
- the second is warmed above 2.22 °C on day 5: its count starts again, and it fails;
- the third has a pulp probe silent for 90 minutes on day 3: the treatment is invalid from
  there, and it fails with the reason.
The link is down for half a day on day 6 (those windows reach the shore late), and half an
hour of the first box's windows never reaches it.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from fleetedge.api import ReadModel
from fleetedge.api.app import create_app
from fleetedge.api.operations import Operations
from fleetedge.events import ReeferReading
from fleetedge.reports import Report, container_report, to_csv, to_pdf
from fleetedge.reports.schedules import schedule
from fleetedge.security.tokens import TokenBook
from tests.support import voyage
from tests.support.voyage import T0, Voyage

T107A = schedule("T107-a")
OUTAGE = (T0 + timedelta(days=6), T0 + timedelta(days=6.5))
DROPPED = (T0 + timedelta(days=8), T0 + timedelta(days=8, minutes=30))
HELD, WARMED, SILENT = voyage.cold_treated()
SCRIPT = f"""
1d container {HELD} door-open 10m
2d container {HELD} power-loss 30m
2.5d container {HELD} compressor-failure 2h
3.4d container {HELD} defrost
4.8d container {WARMED} setpoint 6
5.2d container {WARMED} setpoint 0.5
3d container {SILENT} probe-silent 90m
"""


@pytest.fixture(scope="module")
def sailed() -> Voyage:
    return voyage.sail(SCRIPT, timedelta(days=13.5), keep={HELD, WARMED, SILENT})


def _dropped(v: Voyage) -> set[tuple[str, int]]:
    return {
        (w.container_id, w.seq)
        for w in v.windows
        if w.container_id == HELD and DROPPED[0] <= w.window_start < DROPPED[1]
    }


@pytest.fixture(scope="module")
def shore(sailed: Voyage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadModel]:
    """The read model after the voyage: the outage's windows late, the dropped ones missing."""
    path = tmp_path_factory.mktemp("reports") / "fleet.db"
    voyage.project(path, sailed.windows, outage=OUTAGE, dropped=_dropped(sailed))
    db = ReadModel(f"sqlite:///{path}")
    yield db
    db.close()


@pytest.fixture(scope="module")
def calm_shore(sailed: Voyage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadModel]:
    """The same voyage had the link never gone down."""
    path = tmp_path_factory.mktemp("reports-calm") / "fleet.db"
    voyage.project(path, sailed.windows, dropped=_dropped(sailed))
    db = ReadModel(f"sqlite:///{path}")
    yield db
    db.close()


def _closed(v: Voyage, container: str) -> list[ReeferReading]:
    """The container's raw readings whose windows closed (the last ones are still open)."""
    end = max(w.window_end for w in v.windows if w.container_id == container)
    return [r for r in v.readings[container] if r.event_time < end]


def _spans(report: Report, kind: str) -> list[tuple[datetime, datetime | None]]:
    return [(e.start, e.end) for e in report.events if e.kind == kind]


def test_the_report_lists_each_scripted_event_with_its_start_and_end(
    sailed: Voyage, shore: ReadModel
) -> None:
    report = container_report(shore, HELD)
    readings = [r for r in _closed(sailed, HELD)
                if not DROPPED[0] <= r.event_time < DROPPED[1]]  # fmt: skip
    expected = voyage.episodes(readings)
    for kind in ("excursion", "defrost", "power off", "door open"):
        assert _spans(report, kind) == expected[kind], kind
    # The scripted ones, where the script put them.
    assert (T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=10)) in _spans(
        report, "door open"
    )
    assert (T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=30)) in _spans(
        report, "power off"
    )
    trip = T0 + timedelta(days=2.5)
    assert any(trip < s < trip + timedelta(hours=2) for s, _ in _spans(report, "excursion")), (
        "the compressor trip warmed the box out of range"
    )
    scripted = T0 + timedelta(days=3.4)
    assert any(s == scripted for s, _ in _spans(report, "defrost"))
    recorded, out = voyage.minutes_in_range(readings)
    tir = report.time_in_range
    assert (tir.recorded_minutes, tir.out_of_range_minutes) == (recorded, out)
    assert tir.in_range_minutes == recorded - out > 0


def test_the_outage_arrived_late_and_the_lost_half_hour_is_missing(shore: ReadModel) -> None:
    report = container_report(shore, HELD)
    late = [(g.start, g.end) for g in report.gaps if g.kind == "arrived late"]
    # Windows are written 5 minutes after they close: those written in the outage are late.
    assert late == [(OUTAGE[0] - timedelta(minutes=15), OUTAGE[1] - timedelta(minutes=15))]
    missing = [(g.start, g.end, g.detail) for g in report.gaps if g.kind == "missing"]
    assert [(s, e) for s, e, _ in missing] == [DROPPED]
    assert "not reached the shore" in missing[0][2]
    assert {g.kind for g in report.gaps} == {"arrived late", "missing"}


def test_a_held_treatment_passes_as_the_oracle_says(sailed: Voyage, shore: ReadModel) -> None:
    verdict = container_report(shore, HELD, schedule_name="T107-a").verdict
    oracle = voyage.judge(_closed(sailed, HELD), T107A, _end(sailed, HELD))
    assert verdict is not None
    assert (verdict.status, oracle.status) == ("passed", "passed")
    assert verdict.count_start == oracle.start
    assert (verdict.row_max_pulp_c, verdict.row_days) == (1.11, 12)
    assert (verdict.first_day, verdict.last_day) == ("2026-11-02", "2026-11-13")


def _end(v: Voyage, container: str) -> datetime:
    return max(w.window_end for w in v.windows if w.container_id == container)


def test_a_box_warmed_on_day_5_fails_and_its_count_starts_again(
    sailed: Voyage, shore: ReadModel
) -> None:
    verdict = container_report(shore, WARMED, schedule_name="T107-a").verdict
    oracle = voyage.judge(_closed(sailed, WARMED), T107A, _end(sailed, WARMED))
    assert verdict is not None
    assert (verdict.status, oracle.status) == ("failed", "failed")
    # The count started again after the breach, where the oracle's did, and fell short.
    assert verdict.count_start == oracle.start
    assert verdict.count_start is not None
    assert verdict.count_start > T0 + timedelta(days=5)
    assert verdict.days_counted == oracle.days < 12
    assert any("above 2.22 °C from 2026-11-07" in r for r in verdict.reasons)


def test_a_probe_silent_over_an_hour_invalidates_and_says_why(
    sailed: Voyage, shore: ReadModel
) -> None:
    verdict = container_report(shore, SILENT, schedule_name="T107-a").verdict
    oracle = voyage.judge(_closed(sailed, SILENT), T107A, _end(sailed, SILENT))
    assert verdict is not None
    assert (verdict.status, oracle.status) == ("failed", "failed")
    assert verdict.count_start == oracle.start
    assert verdict.days_counted == oracle.days
    (reason,) = verdict.reasons
    assert reason.startswith("probe 1 silent from 2026-11-04 23:59 to 2026-11-05 01:30 UTC")
    assert "91 min, over the 60 min allowed" in reason


def test_a_link_outage_does_not_change_any_verdict(shore: ReadModel, calm_shore: ReadModel) -> None:
    for box in (HELD, WARMED, SILENT):
        late = container_report(shore, box, schedule_name="T107-a")
        calm = container_report(calm_shore, box, schedule_name="T107-a")
        assert late.verdict == calm.verdict
        assert late.events == calm.events
        assert late.time_in_range == calm.time_in_range
        assert any(g.kind == "arrived late" for g in late.gaps)
        assert not any(g.kind == "arrived late" for g in calm.gaps)


def test_the_pdf_opens_and_holds_the_figures_the_verdict_and_the_chart(
    shore: ReadModel,
) -> None:
    report = container_report(shore, WARMED, schedule_name="T107-a")
    pdf = PdfReader(io.BytesIO(to_pdf(report)))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert WARMED in text
    assert "Verdict against T107-a: FAILED" in text
    tir = report.time_in_range
    assert f"Time in range: {tir.in_range_minutes:g} of {tir.recorded_minutes:g}" in text
    assert "above 2.22 °C" in text
    assert "arrived late" in text
    images = [image for page in pdf.pages for image in page.images]
    assert len(images) == 1
    assert images[0].image is not None
    assert images[0].image.width > 800  # the chart, drawn at 1100 px
    assert to_pdf(report) == to_pdf(report), "the same report gives the same bytes"


def test_the_csv_holds_every_window_and_every_event(shore: ReadModel) -> None:
    report = container_report(shore, HELD)
    rows = list(csv.DictReader(io.StringIO(to_csv(report).decode())))
    assert len(rows) == report.windows
    assert {r["container_id"] for r in rows} == {HELD}
    assert sum(int(r["late"]) for r in rows) == 48  # half a day of 15-minute windows
    events = list(csv.DictReader(io.StringIO(to_csv(report, "events").decode())))
    assert [(e["kind"], e["start"]) for e in events] == [
        (e.kind, e.start.isoformat()) for e in report.events
    ]


# -- the API ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(shore: ReadModel, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    book = TokenBook(tmp_path_factory.mktemp("tokens") / "api-tokens.json")
    client = TestClient(create_app(shore, cast(Operations, _NoOperations()), book))
    client.headers["Authorization"] = f"Bearer {book.add('auditor', 'viewer').get_secret_value()}"
    return client


class _NoOperations:
    """Reports act on nothing: any operation called is a failure of the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a report called the operation {name}")


def test_a_viewer_downloads_each_format(client: TestClient) -> None:
    for fmt, kind in (
        ("pdf", "application/pdf"),
        ("csv", "text/csv"),
        ("json", "application/json"),
    ):
        got = client.get(f"/api/containers/{HELD}/report", params={"format": fmt})
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith(kind)
        assert f'filename="report-{HELD}' in got.headers["content-disposition"]
    doc = client.get(f"/api/containers/{HELD}/report",
                     params={"schedule": "T107-a", "from": "2026-11-02T00:00:00Z",
                             "to": "2026-11-05T00:00:00Z"}).json()  # fmt: skip
    assert (doc["start"], doc["end"]) == ("2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z")
    assert doc["windows"] == 3 * 96
    assert doc["verdict"]["status"] == "failed"  # 3 days of 12


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"from": "yesterday"}, "from", "datetime"),
        ({"from": "2026-11-05T00:00:00Z", "to": "2026-11-04T00:00:00Z"}, "to", "not after"),
        ({"schedule": "T999"}, "schedule", "T107-a|T107-c"),
        ({"format": "docx"}, "format", "pdf"),
        ({"format": "csv", "table": "chairs"}, "table", "unknown table"),
    ],
)
def test_a_bad_field_is_a_422_naming_it(
    client: TestClient, params: dict[str, str], field: str, says: str
) -> None:
    got = client.get(f"/api/containers/{HELD}/report", params=params)
    assert got.status_code == 422, got.text
    (error,) = got.json()["detail"]
    assert error["loc"][-1] == field
    assert says in error["msg"]


def test_an_unknown_container_is_a_404(client: TestClient) -> None:
    got = client.get("/api/containers/ZZZU9999999/report")
    assert got.status_code == 404
    assert "ZZZU9999999" in got.json()["detail"]


def test_the_summary_lists_the_boxes_that_broke_with_links_that_work(client: TestClient) -> None:
    found = client.get("/api/reports/summary", params={"schedule": "T107-a"}).json()
    assert found["containers_checked"] == 3
    verdicts = {r["container_id"]: r["verdict"] for r in found["broke"]}
    # Each box was out of range at some point (defrost recoveries, the trip, the warming).
    assert verdicts == {HELD: "passed", WARMED: "failed", SILENT: "failed"}
    for row in found["broke"]:
        assert client.get(row["report"]).status_code == 200
    page = client.get("/api/reports/summary", params={"format": "html", "vessel": "vessel-9"})
    assert page.status_code == 200
    assert f"href='/api/containers/{WARMED}/report?format=pdf'" in page.text


def test_a_year_of_windows_finishes_and_more_is_refused_clearly(tmp_path: Path) -> None:
    from fleetedge.devices.synthetic import window  # noqa: PLC0415
    from fleetedge.events import JSON  # noqa: PLC0415
    from fleetedge.events import topics as t  # noqa: PLC0415
    from fleetedge.projections import ensure_projection  # noqa: PLC0415
    from fleetedge.projections import rows as projection_rows  # noqa: PLC0415
    from fleetedge.projections.sqlite import SqliteDatabase  # noqa: PLC0415
    from fleetedge.reports.exceptions import ReportTooLarge  # noqa: PLC0415
    from fleetedge.reports.record import MAX_WINDOWS  # noqa: PLC0415

    year = 365 * 96
    db = SqliteDatabase(tmp_path / "year.db")
    gen = ensure_projection(db)
    with db.transaction() as cur:
        projection_rows.write(cur, gen, [
            (t.FLEET_WINDOWS.name, JSON.encode(window("vessel-3", "YEAR0000001", s)))
            for s in range(1, MAX_WINDOWS + 100)
        ])  # fmt: skip
    db.close()
    model = ReadModel(f"sqlite:///{tmp_path / 'year.db'}")
    first = window("vessel-3", "YEAR0000001", 1).window_start
    began = time.monotonic()
    report = container_report(model, "YEAR0000001", end=first + timedelta(days=365))
    assert report.windows == year
    assert len(to_pdf(report)) > 10_000
    assert time.monotonic() - began < 300, "a year's report finishes"
    with pytest.raises(ReportTooLarge, match="narrow from/to") as refused:
        container_report(model, "YEAR0000001")
    assert refused.value.field == "to"
    model.close()


def test_readings_the_shore_lacks_make_a_verdict_incomplete_not_failed(
    sailed: Voyage, tmp_path: Path
) -> None:
    """Two hours of the held box's windows never reach the shore: the count cannot be checked
    across them, so the verdict waits for them instead of failing the fruit."""
    lost = (T0 + timedelta(days=6), T0 + timedelta(days=6, hours=2))
    dropped = {
        (w.container_id, w.seq)
        for w in sailed.windows
        if w.container_id == HELD and lost[0] <= w.window_start < lost[1]
    }
    voyage.project(tmp_path / "fleet.db", sailed.windows, dropped=dropped)
    db = ReadModel(f"sqlite:///{tmp_path / 'fleet.db'}")
    report = container_report(db, HELD, schedule_name="T107-a")
    db.close()
    assert [(g.kind, g.start, g.end) for g in report.gaps] == [("missing", *lost)]
    assert report.verdict is not None
    assert report.verdict.status == "incomplete"
    assert report.verdict.reasons[0].startswith("readings of 2026-11-07 23:59-")
    assert "not ashore yet" in report.verdict.reasons[0]
