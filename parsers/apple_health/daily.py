"""Per-day totals the way the Health app computes them.

An iPhone and an Apple Watch both count the steps of the same walk, and both write them. The Health
app does not add the two up: it orders the sources (Apple Watch first, then iPhone, then apps, unless
the person reordered them) and, for each stretch of time, counts only the highest-priority source that
has a sample there. A lower-priority sample that partly overlaps higher-priority coverage counts for
its uncovered share, pro rata to time. Samples that cross local midnight are split the same way.

Samples are kept in compact arrays (14 bytes each), filed by day, until the end of the file, because an
export is ordered by type and source, not by time: a day is complete only when the whole file has been
read.
A day with a single source, the common case, is summed without the sweep.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DAY = 86_400


class CumulativeSamples:
    """Interval samples of summed quantities (steps, distance, energy, floors, exercise minutes).

    Samples are filed by local day as they arrive (one crossing midnight is split pro rata), so the
    totals are computed day by day at the end with no whole-file temporaries. Each is 14 bytes: start
    (seconds from the day's UTC midnight, within ±2 days, so exact in single precision), duration,
    value (single precision: seven significant digits, far below a daily total's rounding) and source.
    """

    def __init__(self) -> None:
        self._days: dict[tuple[str, int], tuple[array, array, array, array]] = {}
        self._count = 0
        self._last_day: int | None = None
        self._last_metric = ""
        self._last_columns: tuple[array, array, array, array] = (array("f"), array("f"), array("f"), array("H"))

    def __len__(self) -> int:
        return self._count

    def add(self, metric: str, start: float, end: float, offset_minutes: int, value: float, source: int) -> None:
        shift = offset_minutes * 60
        day = int((start + shift) // DAY)
        # A sample ending exactly at midnight belongs wholly to the day before.
        if end > start and int((end + shift - 1e-6) // DAY) != day:
            for piece_day, piece_start, piece_end, piece_value in _split_at_midnight(start, end, value, shift):
                self._file(metric, piece_day, piece_start, piece_end, piece_value, source)
            return
        self._file(metric, day, start, end, value, source)

    def _file(self, metric: str, day: int, start: float, end: float, value: float, source: int) -> None:
        # Samples of one metric come in time order, so most land on the day of the one before.
        if day == self._last_day and metric == self._last_metric:
            columns = self._last_columns
        else:
            columns = self._days.get((metric, day))
            if columns is None:
                columns = self._days[(metric, day)] = (array("f"), array("f"), array("f"), array("H"))
            self._last_day, self._last_metric, self._last_columns = day, metric, columns
        starts, durations, values, sources = columns
        starts.append(start - day * DAY)
        durations.append(end - start)
        values.append(value)
        sources.append(source)
        self._count += 1

    def metrics(self) -> list[str]:
        return sorted({metric for metric, _ in self._days})

    def merge(self, other: CumulativeSamples, sources: Sequence[int]) -> None:
        """Add `other`'s samples (a chunk read elsewhere); `sources` maps its source numbers to ours."""
        identity = all(i == s for i, s in enumerate(sources))
        for key, (starts, durations, values, own) in other._days.items():
            mapped = own if identity else array("H", [sources[s] for s in own])
            columns = self._days.get(key)
            if columns is None:
                self._days[key] = (starts, durations, values, mapped)
            else:
                columns[0].extend(starts)
                columns[1].extend(durations)
                columns[2].extend(values)
                columns[3].extend(mapped)
        self._count += other._count

    def daily_totals(self, metric: str, rank: Callable[[int], tuple[int, str]]) -> dict[int, float]:
        """{local day number (days since 1970-01-01): total} for `metric`, sources merged by `rank`."""
        totals: dict[int, float] = {}
        for (name, day), (starts, durations, values, sources) in self._days.items():
            if name != metric:
                continue
            if sources.count(sources[0]) == len(sources):  # one source: nothing to merge
                totals[day] = math.fsum(values)
            else:
                totals[day] = merge_by_priority(starts, durations, values, sources, rank)
        return totals


def _split_at_midnight(
    start: float, end: float, value: float, shift: float
) -> Iterator[tuple[int, float, float, float]]:
    span = end - start
    while start < end:
        day = math.floor((start + shift) / DAY)
        piece_end = min(end, (day + 1) * DAY - shift)
        yield day, start, piece_end, value * (piece_end - start) / span
        start = piece_end


def merge_by_priority(
    starts: array, durations: array, values: array, sources: array, rank: Callable[[int], tuple[int, str]]
) -> float:
    """Sum of samples (start, duration, value, source), each stretch of time counted for its best source only.

    Sources are taken best first; a sample counts for the share of its time that no better source
    covers (an instant counts unless one covers it), then its intervals join the covered time.
    """
    import numpy as np  # here, not at the top: parsing processes never merge, and start faster without it

    begin = np.frombuffer(starts, dtype=np.float32).astype(np.float64)
    finish = begin + np.frombuffer(durations, dtype=np.float32)
    amount = np.frombuffer(values, dtype=np.float32).astype(np.float64)
    source_of = np.frombuffer(sources, dtype=np.uint16)
    covered_starts = covered_ends = np.empty(0)
    total = 0.0
    for source in sorted(np.unique(source_of).tolist(), key=rank):
        own = source_of == source
        start, end, value = begin[own], finish[own], amount[own]
        span = end - start
        interval = span > 0
        if covered_starts.size:
            # Covered time up to x rises by one a second inside the covered intervals and is flat
            # between them, so a sample's overlap is its value at the end less its value at the start.
            lengths = covered_ends - covered_starts
            reached = np.cumsum(lengths)
            knots = np.column_stack((covered_starts, covered_ends)).ravel()
            heights = np.column_stack((reached - lengths, reached)).ravel()
            overlap = np.interp(end, knots, heights) - np.interp(start, knots, heights)
            at = np.searchsorted(covered_starts, start, side="right") - 1
            inside = (at >= 0) & (start < covered_ends[np.maximum(at, 0)])
        else:
            overlap = np.zeros_like(start)
            inside = np.zeros(start.shape, dtype=bool)
        shares = np.where(interval, 1.0 - overlap / np.where(interval, span, 1.0), np.where(inside, 0.0, 1.0))
        total += math.fsum((value * shares).tolist())
        covered_starts, covered_ends = _union(covered_starts, covered_ends, start[interval], end[interval])
    return total


def _union(
    starts: np.ndarray, ends: np.ndarray, more_starts: np.ndarray, more_ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted, disjoint union of two sets of intervals; touching intervals are joined."""
    import numpy as np

    all_starts = np.concatenate((starts, more_starts))
    all_ends = np.concatenate((ends, more_ends))
    if not all_starts.size:
        return all_starts, all_ends
    order = np.lexsort((all_ends, all_starts))
    all_starts, all_ends = all_starts[order], all_ends[order]
    reach = np.maximum.accumulate(all_ends)
    first = np.empty(all_starts.size, dtype=bool)
    first[0] = True
    first[1:] = all_starts[1:] > reach[:-1]
    heads = np.flatnonzero(first)
    return all_starts[heads], np.maximum.reduceat(all_ends, heads)


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

    def merge(self, other: DiscreteStats) -> None:
        for metric, days in other._days.items():
            mine = self._days.setdefault(metric, {})
            for day, (total, count, low, high) in days.items():
                stats = mine.get(day)
                if stats is None:
                    mine[day] = [total, count, low, high]
                else:
                    stats[0] += total
                    stats[1] += count
                    stats[2] = min(stats[2], low)
                    stats[3] = max(stats[3], high)

    def days(self) -> set[int]:
        return {d for days in self._days.values() for d in days}

    def get(self, metric: str, day: int) -> tuple[float, float, float] | None:
        """(mean, minimum, maximum) of `metric` on `day`, or None."""
        stats = self._days.get(metric, {}).get(day)
        if stats is None:
            return None
        return stats[0] / stats[1], stats[2], stats[3]
