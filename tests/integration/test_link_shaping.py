"""The kernel's shaping of a link (``tc`` on ``lo``) is the whole machine's: two fleets'
links, each named after its own proxy port, never change each other's rate."""

from __future__ import annotations

import socket
import threading

from fleetedge.link.shaper import LinkShaper, ident_for
from fleetedge.runtime.ports import free_ports
from fleetedge.runtime.waiting import wait_until


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


def test_what_the_link_has_not_sent_yet_is_seen_queued_until_it_is_sent() -> None:
    # The link bench measures the idle link only once nothing is queued: a closed consumer's
    # last fetch response still crosses the link after it is gone.
    (port,) = free_ports(1)
    shaper = LinkShaper(ident_for(port), [port])
    size = 393_216  # six seconds of the link below
    with socket.create_server(("127.0.0.1", port)) as server:
        try:
            shaper.apply(512)  # 64 kB/s
            with socket.create_connection(("127.0.0.1", port)) as client:
                sender, _ = server.accept()
                # Vessel to shore: the uplink class. Loopback's segments are up to 64 kB, and
                # the first goes at once: the others wait their turn.
                sending = threading.Thread(target=sender.sendall, args=(b"x" * size,))
                sending.start()
                wait_until(lambda: shaper.queued_bytes()[0] > 0, timeout=10,
                           what="the data queued", interval=0.05)  # fmt: skip
                received = 0
                client.settimeout(30)
                while received < size:
                    received += len(client.recv(65_536))
                sending.join(30)
                sender.close()
            wait_until(lambda: shaper.queued_bytes() == (0, 0), timeout=30, what="nothing queued")
            assert shaper.sent_bytes()[0] >= size
        finally:
            shaper.clear()
