"""Per-day totals the way the Health app computes them.

An iPhone and an Apple Watch both count the steps of the same walk, and both write them. The Health
app does not add the two up: it orders the sources (Apple Watch first, then iPhone, then apps, unless
the person reordered them) and, for each stretch of time, counts only the highest-priority source that
has a sample there. A lower-priority sample that partly overlaps higher-priority coverage counts for
its uncovered share, pro rata to time. Samples that cross local midnight are split the same way.

Samples are kept in compact arrays (about 27 bytes each) until the end of the file, because an export
is ordered by type and source, not by time: a day is complete only when the whole file has been read.
A day with a single source, the common case, is summed without the sweep.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence

import numpy as np

DAY = 86_400


class CumulativeSamples:
    """Interval samples of summed quantities (steps, distance, energy, floors, exercise minutes)."""

    def __init__(self) -> None:
        self._columns: dict[str, tuple[array, array, array, array, array]] = {}

    def __len__(self) -> int:
        return sum(len(c[0]) for c in self._columns.values())

    def add(self, metric: str, start: float, end: float, offset_minutes: int, value: float, source: int) -> None:
        columns = self._columns.get(metric)
        if columns is None:
            columns = self._columns[metric] = (array("d"), array("d"), array("d"), array("h"), array("H"))
        starts, ends, values, offsets, sources = columns
        starts.append(start)
        ends.append(end)
        values.append(value)
        offsets.append(offset_minutes)
        sources.append(source)

    def metrics(self) -> list[str]:
        return sorted(self._columns)

    def daily_totals(self, metric: str, rank: Callable[[int], tuple[int, str]]) -> dict[int, float]:
        """{local day number (days since 1970-01-01): total} for `metric`, sources merged by `rank`."""
        starts, ends, values, offsets, sources = (np.frombuffer(c, dtype=c.typecode) for c in self._columns[metric])
        shift = offsets.astype(np.float64) * 60.0
        first_day = np.floor((starts + shift) / DAY).astype(np.int64)
        # A sample ending exactly at midnight belongs wholly to the day before.
        last_day = np.floor((np.maximum(ends, starts) + shift - 1e-6) / DAY).astype(np.int64)
        last_day = np.maximum(first_day, last_day)
        whole = first_day == last_day
        day = [first_day[whole]]
        s, e, v, src = [starts[whole]], [ends[whole]], [values[whole]], [sources[whole].astype(np.int64)]
        for i in np.flatnonzero(~whole):
            for piece in _split_at_midnight(starts[i], ends[i], values[i], shift[i]):
                day.append(np.array([piece[0]]))
                s.append(np.array([piece[1]]))
                e.append(np.array([piece[2]]))
                v.append(np.array([piece[3]]))
                src.append(np.array([sources[i]], dtype=np.int64))
        days, s_, e_, v_, src_ = (np.concatenate(x) for x in (day, s, e, v, src))
        if not len(days):
            return {}

        pair, pair_index = np.unique(days * 65_536 + src_, return_inverse=True)
        pair_sums = np.bincount(pair_index, weights=v_)
        pair_days = pair // 65_536
        unique_days, first, counts = np.unique(pair_days, return_index=True, return_counts=True)
        totals = {int(d): float(pair_sums[f]) for d, f, c in zip(unique_days, first, counts, strict=True) if c == 1}

        crowded = unique_days[counts > 1]
        if len(crowded):
            order = np.argsort(days, kind="stable")
            sorted_days = days[order]
            for d in crowded:
                lo, hi = np.searchsorted(sorted_days, d), np.searchsorted(sorted_days, d, side="right")
                idx = order[lo:hi]
                totals[int(d)] = merge_by_priority(
                    zip(s_[idx].tolist(), e_[idx].tolist(), v_[idx].tolist(), src_[idx].tolist(), strict=True), rank
                )
        return totals


def _split_at_midnight(
    start: float, end: float, value: float, shift: float
) -> Iterable[tuple[int, float, float, float]]:
    span = end - start
    local = start + shift
    while start < end:
        day = math.floor(local / DAY)
        boundary = (day + 1) * DAY - shift
        piece_end = min(end, boundary)
        yield day, start, piece_end, value * (piece_end - start) / span
        start, local = piece_end, piece_end + shift


def merge_by_priority(
    samples: Iterable[tuple[float, float, float, int]], rank: Callable[[int], tuple[int, str]]
) -> float:
    """Sum of (start, end, value, source) samples, each stretch of time counted for its best source only."""
    by_source: dict[int, list[tuple[float, float, float]]] = {}
    for start, end, value, source in samples:
        by_source.setdefault(source, []).append((start, end, value))
    covered_starts: list[float] = []
    covered_ends: list[float] = []
    total = 0.0
    for source in sorted(by_source, key=rank):
        own = by_source[source]
        for start, end, value in own:
            if end > start:
                overlap = _overlap(start, end, covered_starts, covered_ends)
                total += value * (1.0 - overlap / (end - start))
            elif not _inside(start, covered_starts, covered_ends):
                total += value
        covered_starts, covered_ends = _union(covered_starts, covered_ends, [(s, e) for s, e, _ in own if e > s])
    return total


def _overlap(start: float, end: float, starts: Sequence[float], ends: Sequence[float]) -> float:
    i = bisect_right(ends, start)
    overlap = 0.0
    while i < len(starts) and starts[i] < end:
        overlap += min(end, ends[i]) - max(start, starts[i])
        i += 1
    return overlap


def _inside(instant: float, starts: Sequence[float], ends: Sequence[float]) -> bool:
    i = bisect_right(starts, instant) - 1
    return i >= 0 and instant < ends[i]


def _union(starts: list[float], ends: list[float], more: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    merged_starts: list[float] = []
    merged_ends: list[float] = []
    for start, end in sorted([*zip(starts, ends, strict=True), *more]):
        if merged_ends and start <= merged_ends[-1]:
            merged_ends[-1] = max(merged_ends[-1], end)
        else:
            merged_starts.append(start)
            merged_ends.append(end)
    return merged_starts, merged_ends


class DiscreteStats:
    """Running per-day mean, minimum and maximum of point samples (heart rate, SpO2, HRV…)."""

    def __init__(self) -> None:
        self._days: dict[str, dict[int, list[float]]] = {}

    def add(self, metric: str, day: int, value: float) -> None:
        days = self._days.setdefault(metric, {})
        stats = days.get(day)
        if stats is None:
            days[day] = [value, 1.0, value, value]
        else:
            stats[0] += value
            stats[1] += 1.0
            if value < stats[2]:
                stats[2] = value
            if value > stats[3]:
                stats[3] = value

    def days(self) -> set[int]:
        return {d for days in self._days.values() for d in days}

    def get(self, metric: str, day: int) -> tuple[float, float, float] | None:
        """(mean, minimum, maximum) of `metric` on `day`, or None."""
        stats = self._days.get(metric, {}).get(day)
        if stats is None:
            return None
        return stats[0] / stats[1], stats[2], stats[3]
