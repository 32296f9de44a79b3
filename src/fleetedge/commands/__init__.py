"""Remote reefer commands: what an operator may order, the checks before anything is sent, the
lifecycle kept ashore from events, and the issuer that puts a command on its way.

- ``safety``: the refusals (action, setpoint ranges, container and vessel, expiry, rate);
- ``lifecycle``: requested → delivered → applied | rejected, or expired, from acknowledgements;
- ``issuer``: one Kafka transaction writes the request to the fleet's command log and to the
  vessel's commands topic, which the downlink carries aboard.

The vessel's side lives with the vessel: ``edge/commands.py`` (the command handler) and
``devices/controller.py`` (the reefer controller). See docs/commands.md.
"""

from fleetedge.commands.exceptions import CommandError, CommandRefused
from fleetedge.commands.lifecycle import Step, step_of
from fleetedge.commands.safety import (
    ACTIONS,
    CommandRequest,
    RateLimiter,
    Target,
    check,
)

__all__ = [
    "ACTIONS",
    "CommandError",
    "CommandRefused",
    "CommandRequest",
    "RateLimiter",
    "Step",
    "Target",
    "check",
    "step_of",
]
