"""Sets of sequence numbers as sorted, merged, inclusive ``[lo, hi]`` ranges (JSON-able)."""

from __future__ import annotations

Ranges = list[list[int]]


def merge(ranges: Ranges, lo: int, hi: int) -> Ranges:
    """``ranges`` with ``[lo, hi]`` added, still sorted and merged (touching ranges join)."""
    out: Ranges = []
    for a, b in sorted([*ranges, [lo, hi]]):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def contains(ranges: Ranges, value: int) -> bool:
    return any(a <= value <= b for a, b in ranges)


def gaps(ranges: Ranges, first: int = 1) -> Ranges:
    """What is missing from ``first`` to the highest value held (the tail is not a gap)."""
    out: Ranges = []
    expected = first
    for a, b in ranges:
        if a > expected:
            out.append([expected, a - 1])
        expected = max(expected, b + 1)
    return out


def size(ranges: Ranges) -> int:
    return sum(b - a + 1 for a, b in ranges)
