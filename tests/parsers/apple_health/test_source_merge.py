"""Merging overlapping sources, checked against counting covered seconds one by one."""

from __future__ import annotations

import random
from array import array

import pytest

from parsers.apple_health.daily import merge_by_priority


def by_counting_seconds(samples: list[tuple[int, int, float, int]]) -> float:
    """The same rule, the slow obvious way: seconds of the day marked covered, best source first."""
    covered = bytearray(2 * 86_400)
    total = 0.0
    for source in sorted({s for *_, s in samples}):
        own = [(start, end, value) for start, end, value, s in samples if s == source]
        for start, end, value in own:
            if end > start:
                free = sum(1 for second in range(start, end) if not covered[second])
                total += value * free / (end - start)
            elif not covered[start]:
                total += value
        for start, end, _ in own:
            covered[start:end] = b"\x01" * (end - start)
    return total


def merged(samples: list[tuple[int, int, float, int]]) -> float:
    return merge_by_priority(
        array("f", [s for s, *_ in samples]),
        array("f", [e - s for s, e, *_ in samples]),
        array("f", [v for _, _, v, _ in samples]),
        array("H", [src for *_, src in samples]),
        lambda source: (source, ""),
    )


def test_a_lower_priority_sample_counts_only_for_its_uncovered_share() -> None:
    # Watch (0) 08:00–08:10, 300 steps; iPhone (1) 08:05–08:15, 200 steps: half of it is covered.
    samples = [(28_800, 29_400, 300.0, 0), (29_100, 29_700, 200.0, 1)]
    assert merged(samples) == pytest.approx(300 + 100)
    # An instant inside better coverage does not count; one outside does.
    assert merged([*samples, (29_000, 29_000, 7.0, 2), (30_000, 30_000, 5.0, 2)]) == pytest.approx(405)


@pytest.mark.parametrize("seed", range(20))
def test_random_overlaps_match_counting_seconds(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 (test data)
    samples = []
    for _ in range(rng.randint(2, 60)):
        start = rng.randrange(0, 86_400)
        length = rng.choice([0, rng.randint(1, 900), rng.randint(1, 7200)])
        # Values with few significant digits: exact in single precision, as the samples are stored.
        samples.append((start, start + length, float(rng.randint(0, 2000)) / 4, rng.randrange(3)))
    assert merged(samples) == pytest.approx(by_counting_seconds(samples), rel=1e-9, abs=1e-9)
