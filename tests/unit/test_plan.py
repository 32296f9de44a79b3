"""The fleet's plan: services in start order, the README's port scheme, arguments intact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fleetedge.orchestration.plan import FleetOptions, build_plan
from fleetedge.orchestration.state import fleet_dir

BOOTSTRAPS = {"vessel-1": "127.0.0.1:1", "vessel-2": "127.0.0.1:2", "shore": "127.0.0.1:9"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_services_start_in_order_on_the_readme_ports(tmp_path: Path) -> None:
    plan = build_plan(
        FleetOptions(connect_workers=2), home=tmp_path, bootstraps=BOOTSTRAPS, started_at=T0
    )
    assert [s.name for s in plan.services] == [
        "sim-vessel-1", "edge-vessel-1", "resend-vessel-1", "commands-vessel-1",
        "sim-vessel-2", "edge-vessel-2", "resend-vessel-2", "commands-vessel-2",
        "connect-1", "connect-2", "link", "normalizer", "analytics-1", "analytics-2",
        "projector", "backfill", "api",
    ]  # fmt: skip
    metrics = [s.metrics_port for s in plan.services if s.metrics_port is not None]
    assert metrics == list(range(18300, 18300 + len(metrics)))
    by_name = {s.name: s for s in plan.services}
    assert by_name["connect-2"].health_url == "http://127.0.0.1:18201/"
    assert by_name["api"].health_url == "http://127.0.0.1:18080/livez"
    link = by_name["link"].args
    assert link[: link.index("--metrics-port")] == (
        "link", "run", "--shore", "shore",
        "--connect", "http://127.0.0.1:18200", "--connect", "http://127.0.0.1:18201",
    )  # fmt: skip


def test_a_home_with_a_space_stays_one_argument(tmp_path: Path) -> None:
    home = tmp_path / "my fleet"
    plan = build_plan(FleetOptions(), home=home, bootstraps=BOOTSTRAPS, started_at=T0)
    analytics = next(s for s in plan.services if s.name == "analytics-1").args
    state_dir = analytics[analytics.index("--state-dir") + 1]
    assert state_dir == str(fleet_dir(home) / "analytics-1")
