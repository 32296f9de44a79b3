"""The kernel's shaping of a link (``tc`` on ``lo``) is the whole machine's: two fleets'
links, each named after its own proxy port, never change each other's rate."""

from __future__ import annotations

from fleetedge.link.shaper import LinkShaper, ident_for
from fleetedge.runtime.ports import free_ports


def test_clearing_one_fleets_link_leaves_anothers_shaped() -> None:
    # Seen before links were named by port: every fleet's first link was number 1, so a test
    # that restored its link lifted the 64 kbit/s of another's, whose backlog drained at once.
    mine, theirs = (LinkShaper(ident_for(port), [port]) for port in free_ports(2))
    try:
        mine.apply(64)
        theirs.apply(128)
        assert (mine.rate_kbps(), theirs.rate_kbps()) == (64, 128)
        mine.clear()
        assert mine.rate_kbps() is None
        assert theirs.rate_kbps() == 128
    finally:
        mine.clear()
        theirs.clear()
    assert theirs.rate_kbps() is None
