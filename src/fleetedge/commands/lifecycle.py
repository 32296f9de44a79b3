"""A command's lifecycle ashore, folded from events.

``requested`` is the request in the fleet's command log. The vessel answers with
acknowledgements (``vessel.command_ack``), mapped here:

=================  ===========  ==================================================
ack status         step         meaning
=================  ===========  ==================================================
accepted           delivered    the vessel's command handler received it in time
succeeded          applied      the reefer controller carried it out
rejected, failed   rejected     the vessel or the controller refused it (reason)
expired            expired      it arrived after its expiry and was not applied
=================  ===========  ==================================================

Each step is kept once with its time; the current status is the step of highest rank. A request
past its expiry and not delivered reads as ``expired`` ashore before the vessel says so: the
vessel will refuse it (its handler checks the same expiry), so the read side never shows a
command as pending that can no longer take effect.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from fleetedge.events.vessel import CommandStatus


class Step(StrEnum):
    REQUESTED = "requested"
    DELIVERED = "delivered"
    APPLIED = "applied"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def final(self) -> bool:
        return self.rank == 2


_RANK = {
    Step.REQUESTED: 0,
    Step.DELIVERED: 1,
    Step.APPLIED: 2,
    Step.REJECTED: 2,
    Step.EXPIRED: 2,
}
_FROM_ACK = {
    CommandStatus.ACCEPTED: Step.DELIVERED,
    CommandStatus.SUCCEEDED: Step.APPLIED,
    CommandStatus.REJECTED: Step.REJECTED,
    CommandStatus.FAILED: Step.REJECTED,
    CommandStatus.EXPIRED: Step.EXPIRED,
}


def step_of(status: CommandStatus) -> Step | None:
    """The lifecycle step an acknowledgement records (``queued`` records none)."""
    return _FROM_ACK.get(status)


def current(steps: dict[Step, datetime], expires_at: datetime, now: datetime) -> Step:
    """The status shown: the highest step reached, or ``expired`` for a request that can no
    longer be delivered in time."""
    best = max(steps, key=lambda s: s.rank, default=Step.REQUESTED)
    if best is Step.REQUESTED and now >= expires_at:
        return Step.EXPIRED
    return best
