"""What ``fleet vessel run`` and ``fleet shore run`` share: a role's services in the foreground."""

from __future__ import annotations

from rich.markup import escape

from fleetedge.cli._common import console, progress, until_signalled
from fleetedge.roles.run import RolePlan, supervise


def run_role(plan: RolePlan) -> None:
    """Run ``plan`` until Ctrl-C or SIGTERM (systemd's stop), telling the terminal what a
    person reads: the start's progress, restarts, and where the logs are."""
    stop = until_signalled()
    names = ", ".join(s.name for s in plan.services)
    with progress(f"starting {plan.name}: {names}") as step:
        supervise(
            plan,
            stop,
            on_wait=lambda pending: step(f"waiting for {', '.join(pending)}"),
            on_ready=lambda: step("running"),
            on_event=lambda message: console.print(f"[yellow]supervisor:[/] {escape(message)}"),
        )
    console.print(f"{plan.name} stopped; logs in {plan.logs}")
