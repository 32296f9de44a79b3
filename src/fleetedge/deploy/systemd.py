"""A role on a host of its own (a vessel's edge box, say) as a systemd service.

The unit runs ``fleet <role> run --config`` in the foreground; systemd restarts it if it
fails and stops it with SIGTERM, which the role passes on to every service it runs.
"""

from __future__ import annotations

from pathlib import Path

UNIT = """\
[Unit]
Description=FleetEdge {what}
Documentation=file:{docs}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=fleetedge
Group=fleetedge
Environment=FLEET_HOME=/var/lib/fleetedge
ExecStart={fleet} {role} run --config {config}
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
# The role stops its services one kind after another, each within 30 s.
TimeoutStopSec=120
StateDirectory=fleetedge
LogsDirectory=fleetedge
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=/var/lib/fleetedge

[Install]
WantedBy=multi-user.target
"""


def unit(role: str, what: str, *, fleet: Path, config: Path) -> str:
    """The unit of ``role`` (vessel or shore) with its file at ``config``."""
    return UNIT.format(
        what=what,
        role=role,
        fleet=fleet,
        config=config,
        docs="/usr/share/doc/fleetedge/deploy.md",
    )
