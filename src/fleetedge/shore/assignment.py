"""A pattern subscription's blind spot, watched: a topic that matches and is never assigned.

librdkafka evaluates a regex subscription again at every metadata refresh and rejoins the
group when the matches change. A topic created while the group is rebalancing can be left out
until the *next* change of the matches (librdkafka issue #3008). A fleet's mirrored topics are
all created in its first minute, so there may be no next change: a story test saw a vessel's
4,139 windows sit ashore, mirrored and committed, while the normalizer held that vessel's
other topics and never that one, for ten minutes.

So the normalizer, whatever the cause, compares what its pattern matches with what it holds,
and subscribes again when a match stays unassigned past a grace. Its group has one member (one
transactional id), so everything that matches must be its own.
"""

from __future__ import annotations

from collections.abc import Iterable


class Unassigned:
    """The matching topics held by no assignment, and since when (monotonic seconds)."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self._since: dict[str, float] = {}

    def overdue(self, matching: Iterable[str], assigned: Iterable[str], now: float) -> list[str]:
        """The topics that matched and stayed unassigned for ``grace_s`` or more. While the
        group rebalances every topic is unassigned for seconds: the grace is longer."""
        missing = set(matching) - set(assigned)
        self._since = {topic: self._since.get(topic, now) for topic in missing}
        return sorted(t for t, since in self._since.items() if now - since >= self.grace_s)

    def forget(self) -> None:
        """After subscribing again: each topic gets a whole grace of its own."""
        self._since.clear()
