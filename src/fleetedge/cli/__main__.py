"""``python -m fleetedge.cli`` is the ``fleet`` command."""

from fleetedge.cli import main

main()
