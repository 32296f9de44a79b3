"""A deadline on a client call that may not honour its own timeout.

librdkafka's ``send_offsets_to_transaction`` can block past its timeout, for good, when the
consumer group's coordinator broker dies (librdkafka issues #5456 and #5511, open). No call
from inside the process can free it, so past a deadline the process exits with a one-line
reason, and its supervisor starts it again: a transactional service then fences its old self
and resumes from its last commit, so nothing is lost or doubled. The edge keeps its position in
its changelog and never makes that call; the normalizer's offsets belong to its group and must.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_log = logging.getLogger(__name__)
EXIT_HUNG = 75  # EX_TEMPFAIL: try again


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Run the body; if it has not returned after ``seconds``, exit the process."""

    def expired() -> None:
        reason = f"{what} hung for {seconds:.0f}s past its own timeout; exiting to be restarted"
        _log.error(reason)
        print(f"error: {reason}", file=sys.stderr, flush=True)
        os._exit(EXIT_HUNG)

    timer = threading.Timer(seconds, expired)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
