"""Completeness ashore, from sequence numbers: what is missing, what came twice.

Every FleetEdge event carries ``seq``, counted per kind and source from 1 without gaps. Reading a
mirrored topic and following each source's numbers shows records the link lost (for instance,
removed aboard by retention before MirrorMaker 2 read them) and records it delivered twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fleetedge.events.codec import decode
from fleetedge.events.exceptions import EventError


@dataclass
class SourceRuns:
    """The sequence numbers seen from one source, as sorted runs with duplicates counted."""

    seen: set[int] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    last: int = 0

    def add(self, seq: int) -> None:
        if seq in self.seen:
            self.duplicates += 1
            return
        if seq < self.last:
            self.out_of_order += 1
        self.seen.add(seq)
        self.last = max(self.last, seq)

    def gaps(self) -> list[tuple[int, int]]:
        """Missing ranges (first, last), from 1 to the highest number seen."""
        missing: list[tuple[int, int]] = []
        expected = 1
        for seq in sorted(self.seen):
            if seq > expected:
                missing.append((expected, seq - 1))
            expected = seq + 1
        return missing


@dataclass
class AuditReport:
    topic: str
    records: int = 0
    undecodable: int = 0
    sources: dict[str, SourceRuns] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return sum(b - a + 1 for runs in self.sources.values() for a, b in runs.gaps())

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.sources.values())

    @property
    def out_of_order(self) -> int:
        return sum(r.out_of_order for r in self.sources.values())

    def gaps(self) -> dict[str, list[tuple[int, int]]]:
        return {source: g for source, runs in self.sources.items() if (g := runs.gaps())}

    def summary(self) -> str:
        if not self.missing and not self.duplicates:
            return f"{self.topic}: {self.records} records, complete, no duplicates"
        worst = sorted(self.gaps().items(), key=lambda kv: -sum(b - a + 1 for a, b in kv[1]))[:3]
        shown = "; ".join(
            f"{src} missing {', '.join(f'{a}..{b}' for a, b in g[:3])}" for src, g in worst
        )
        return (
            f"{self.topic}: {self.records} records, {self.missing} missing, "
            f"{self.duplicates} duplicated" + (f" ({shown})" if shown else "")
        )


def audit(topic: str, values: Iterable[bytes]) -> AuditReport:
    """Follow the sequence numbers of every source in ``values`` (one partition order)."""
    report = AuditReport(topic)
    for value in values:
        report.records += 1
        try:
            event = decode(value)
        except EventError:
            report.undecodable += 1
            continue
        source = f"{event.kind}:{event.source}"
        report.sources.setdefault(source, SourceRuns()).add(event.seq)
    return report
