"""The KTable-like latest states of the fleet analytics, as pure functions over JSON-able state.

Stage 1 keeps one state per container, per alert and per vessel link. Each event updates its
state and yields a *delta*: a flat map of counter names to signed changes (``state/ok: -1``,
``state/excursion: +1``, ``power_ckw: +37``), the subtract-old-add-new of a Kafka Streams
table aggregation. Stage 2 sums a vessel's deltas into its partial; stage 3 sums the partials.

Every function is idempotent and order-safe: a window already applied (same container and
window ``seq``) or an alert or link report not newer than the one held changes nothing, so a
mirrored or replayed duplicate never counts twice, and a late window (a backfill) adds its
minutes without overriding the container's newer latest state.

Counters (all integers, so sums are exact):

- ``containers``; ``state/<ok|excursion|door_open|power_off>``; ``cargo/<cargo>``
- ``power_ckw``: reefer power of the latest windows, in hundredths of a kW
- ``excursion_s/<cargo>``: seconds out of range over all windows
- ``alerts/<kind>/<severity>``: open alerts
- ``link/<online|degraded|offline>``: vessels in each link state
"""

from __future__ import annotations

from typing import Any

from fleetedge.shore import ranges

State = dict[str, Any]
Delta = dict[str, int]
CONTAINER_STATES = ("ok", "excursion", "door_open", "power_off")


def container_state(window: dict[str, Any]) -> str:
    """A container's state from its latest window, worst first."""
    return state_of(
        window["seconds_power_off"], window["seconds_out_of_range"], window["seconds_door_open"]
    )


def state_of(seconds_power_off: int, seconds_out_of_range: int, seconds_door_open: int) -> str:
    if seconds_power_off > 0:
        return "power_off"
    if seconds_out_of_range > 0:
        return "excursion"
    if seconds_door_open > 0:
        return "door_open"
    return "ok"


def _add(delta: Delta, name: str, change: int) -> None:
    if change:
        delta[name] = delta.get(name, 0) + change
        if delta[name] == 0:
            del delta[name]


def reading_ranges(window: dict[str, Any]) -> ranges.Ranges:
    """The reading seqs a window covers: first..last less its gaps."""
    covered: ranges.Ranges = [[window["first_seq"], window["last_seq"]]]
    for lo, hi in window.get("gaps", ()):
        kept: ranges.Ranges = []
        for a, b in covered:
            if hi < a or lo > b:
                kept.append([a, b])
                continue
            if a < lo:
                kept.append([a, lo - 1])
            if hi < b:
                kept.append([hi + 1, b])
        covered = kept
    return covered


def apply_window(state: State | None, window: dict[str, Any]) -> tuple[State, Delta] | None:
    """The container's new state and the delta, or None if this window was applied already."""
    seq = window["seq"]
    if state is not None and ranges.contains(state["windows"], seq):
        return None
    delta: Delta = {}
    covered = state["readings"] if state else []
    for lo, hi in reading_ranges(window):
        covered = ranges.merge(covered, lo, hi)
    new: State = {
        "vessel_id": window["vessel_id"],
        "container_id": window["container_id"],
        "windows": ranges.merge(state["windows"] if state else [], seq, seq),
        "readings": covered,
    }
    _add(delta, f"excursion_s/{window['cargo']}", window["seconds_out_of_range"])
    if state is None or seq > state["latest"]:
        latest = {
            "latest": seq,
            "state": container_state(window),
            "cargo": window["cargo"],
            "power_ckw": round(window["mean_power_kw"] * 100),
        }
        if state is None:
            _add(delta, "containers", 1)
        else:
            _add(delta, f"state/{state['state']}", -1)
            _add(delta, f"cargo/{state['cargo']}", -1)
            _add(delta, "power_ckw", -state["power_ckw"])
        _add(delta, f"state/{latest['state']}", 1)
        _add(delta, f"cargo/{latest['cargo']}", 1)
        _add(delta, "power_ckw", latest["power_ckw"])
        new.update(latest)
    else:
        new.update({k: state[k] for k in ("latest", "state", "cargo", "power_ckw")})
    return new, delta


def apply_alert(state: State | None, alert: dict[str, Any]) -> tuple[State, Delta] | None:
    """An alert's open/closed state by its newest event (vessel alert ``seq``)."""
    if state is not None and alert["seq"] <= state["seq"]:
        return None
    delta: Delta = {}
    is_open = alert["state"] == "raised"
    if state is not None and state["open"]:
        _add(delta, f"alerts/{state['alert_kind']}/{state['severity']}", -1)
    if is_open:
        _add(delta, f"alerts/{alert['alert_kind']}/{alert['severity']}", 1)
    new = {
        "seq": alert["seq"],
        "open": is_open,
        "alert_kind": alert["alert_kind"],
        "severity": alert["severity"],
    }
    return new, delta


def apply_link(state: State | None, report: dict[str, Any]) -> tuple[State, Delta] | None:
    """A vessel's link state by its newest report."""
    if state is not None and report["seq"] <= state["seq"]:
        return None
    delta: Delta = {}
    if state is not None:
        _add(delta, f"link/{state['state']}", -1)
    _add(delta, f"link/{report['state']}", 1)
    return {"seq": report["seq"], "state": report["state"]}, delta


def add_delta(totals: Delta, delta: Delta, sign: int = 1) -> Delta:
    """``totals`` plus (or minus) ``delta``, zero counters dropped."""
    out = dict(totals)
    for name, change in delta.items():
        _add(out, name, sign * change)
    return out
