"""The analytics' KTable logic: duplicates and order never change the fleet's counters."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fleetedge.devices.synthetic import alert, window
from fleetedge.shore import ranges, tables
from fleetedge.shore.kpis import FleetKpis, combine, fleet_kpis, partial

Doc = dict[str, Any]


def _doc(event: Any) -> Doc:
    doc: Doc = json.loads(event.model_dump_json())
    return doc


def _windows(containers: int, per: int) -> list[Doc]:
    """Windows whose states, power and minutes out of range vary by container and seq."""
    return [
        _doc(
            window("vessel-1", f"ABCU{c:07d}", seq).model_copy(
                update={
                    "seconds_out_of_range": (c * 7 + seq * 13) % 5 * 60,
                    "seconds_power_off": 60 if (c + seq) % 4 == 0 else 0,
                    "mean_power_kw": 1.5 + (c * seq % 9) / 10,
                }
            )
        )
        for c in range(containers)
        for seq in range(1, per + 1)
    ]


def _fold(docs: list[Doc]) -> tuple[dict[str, Doc], tables.Delta]:
    states: dict[str, Doc] = {}
    totals: tables.Delta = {}
    for d in docs:
        result = tables.apply_window(states.get(d["container_id"]), d)
        if result is not None:
            states[d["container_id"]], delta = result
            totals = tables.add_delta(totals, delta)
    return states, totals


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 20))
def test_window_order_and_duplicates_do_not_change_the_counters(
    rnd: random.Random, duplicates: int
) -> None:
    docs = _windows(4, 6)
    base_states, base_totals = _fold(docs)
    shuffled = docs + [rnd.choice(docs) for _ in range(duplicates)]
    rnd.shuffle(shuffled)
    states, totals = _fold(shuffled)
    assert totals == base_totals
    assert states == base_states


def test_counters_describe_the_latest_window_of_each_container() -> None:
    docs = _windows(3, 5)
    _, totals = _fold(docs)
    latest = [d for d in docs if d["seq"] == 5]
    assert totals["containers"] == 3
    assert sum(v for k, v in totals.items() if k.startswith("state/")) == 3
    assert totals["power_ckw"] == sum(round(d["mean_power_kw"] * 100) for d in latest)
    excursion = sum(d["seconds_out_of_range"] for d in docs)
    assert sum(v for k, v in totals.items() if k.startswith("excursion_s/")) == excursion


def test_reading_ranges_follow_first_last_and_gaps() -> None:
    doc = {"first_seq": 10, "last_seq": 24, "gaps": [[12, 13], [20, 20]]}
    assert tables.reading_ranges(doc) == [[10, 11], [14, 19], [21, 24]]


def test_a_late_window_fills_its_gap_without_replacing_the_latest_state() -> None:
    first, second, third = (_doc(window("vessel-1", "ABCU0000001", s)) for s in (1, 2, 3))
    state, _ = tables.apply_window(None, first) or ({}, {})
    state, _ = tables.apply_window(state, third) or ({}, {})
    assert ranges.gaps(state["readings"]) != []
    result = tables.apply_window(state, second)
    assert result is not None
    filled, delta = result
    assert ranges.gaps(filled["readings"]) == []
    assert filled["latest"] == 3
    assert set(delta) <= {f"excursion_s/{second['cargo']}"}, "only its minutes are added"


def test_an_alert_is_open_until_its_newer_clear_and_replays_change_nothing() -> None:
    raised = _doc(alert("vessel-1", "ABCU0000001", 1))
    cleared = dict(raised, seq=2, state="cleared")
    state, delta = tables.apply_alert(None, raised) or ({}, {})
    assert delta == {f"alerts/{raised['alert_kind']}/{raised['severity']}": 1}
    assert tables.apply_alert(state, raised) is None
    state, delta = tables.apply_alert(state, cleared) or ({}, {})
    assert delta == {f"alerts/{raised['alert_kind']}/{raised['severity']}": -1}
    assert tables.apply_alert(state, raised) is None, "an older raise never reopens it"


def test_link_state_moves_a_vessel_between_counters() -> None:
    state, delta = tables.apply_link(None, {"seq": 1, "state": "online"}) or ({}, {})
    assert delta == {"link/online": 1}
    state, delta = tables.apply_link(state, {"seq": 2, "state": "offline"}) or ({}, {})
    assert delta == {"link/online": -1, "link/offline": 1}
    assert tables.apply_link(state, {"seq": 2, "state": "online"}) is None


def test_ranges_merge_and_report_interior_gaps_only() -> None:
    r: ranges.Ranges = []
    for lo, hi in ((5, 6), (1, 2), (3, 4), (10, 12)):
        r = ranges.merge(r, lo, hi)
    assert r == [[1, 6], [10, 12]]
    assert ranges.gaps(r) == [[7, 9]]
    assert ranges.gaps([[3, 4]]) == [[1, 2]], "readings start at 1: a missing head is a gap"
    assert ranges.size(r) == 9


def test_kpis_are_shaped_from_the_counters() -> None:
    totals = {
        "containers": 3,
        "state/ok": 2,
        "state/power_off": 1,
        "cargo/frozen": 3,
        "alerts/power_loss/warning": 1,
        "excursion_s/frozen": 90,
        "link/online": 1,
    }
    doc = fleet_kpis(totals, {"vessel-1": 1234}, seq=7)
    assert FleetKpis.model_validate(doc).model_dump() == doc, "the record keeps its contract"
    assert doc["open_alerts"] == {"power_loss": {"warning": 1}}
    assert doc["excursion_minutes_by_cargo"] == {"frozen": 1.5}
    assert doc["reefer_power_kw_by_vessel"] == {"vessel-1": 12.34}
    assert doc["containers_by_state"] == {"ok": 2, "power_off": 1}
    assert doc["vessels"] == 1


def test_the_fleet_is_the_sum_of_its_vessels_partials_in_any_order() -> None:
    """Readers sum each vessel's newest partial: the order they come in changes nothing, and
    ``seq`` counts the changes of the whole fleet."""
    one = partial("vessel-1", {"containers": 2, "state/ok": 2, "power_ckw": 500}, 4)
    two = partial(
        "vessel-2",
        {"containers": 1, "state/ok": 0, "state/excursion": 1, "power_ckw": 250, "link/online": 1},
        3,
    )
    doc = combine([one, two])
    assert doc == combine([two, one])
    assert doc["seq"] == 7
    assert doc["containers"] == 3
    assert doc["containers_by_state"] == {"excursion": 1, "ok": 2}
    assert doc["reefer_power_kw_by_vessel"] == {"vessel-1": 5.0, "vessel-2": 2.5}
    assert doc["vessels"] == 2
    assert FleetKpis.model_validate(doc).model_dump() == doc
    # Counters that cancel out across vessels vanish, as in one vessel's own partial.
    three = partial("vessel-3", {"link/online": -1}, 1)
    assert "online" not in combine([two, three])["vessels_by_link_state"]
