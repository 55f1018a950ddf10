"""Throughput of `to_canonical` over a realistic mix of lab results.

Run: .venv/bin/python benchmarks/bench_units.py [N]

Converts N values (default 200,000) spread over every quantitative marker of the dictionary and every
unit it accepts, and prints values per second, the cost of the first (cold) pass that fills the
caches, and peak memory measured by tracemalloc.
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc

from parsers.vocabulary.dictionary import load_dictionary
from parsers.vocabulary.units import UnitError, to_canonical


def workload(n: int) -> tuple[list[tuple[float, str, object]], int]:
    pairs = []
    for marker in load_dictionary():
        if marker.qualitative:
            continue
        for unit in marker.accepted_units:
            try:
                to_canonical(1.0, unit, marker)
            except UnitError:
                continue  # refused on purpose (Lp(a) mg/dL); not a conversion to time
            pairs.append((unit, marker))
    rng = random.Random(20240601)  # noqa: S311 - reproducible benchmark data, not a secret
    return [(rng.uniform(0.1, 500.0), *rng.choice(pairs)) for _ in range(n)], len(pairs)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    tracemalloc.start()
    started = time.perf_counter()
    to_canonical(90.0, "mg/dL", load_dictionary().get("glucose"))
    cold = time.perf_counter() - started
    _, cold_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    values, pair_count = workload(n)
    tracemalloc.start()
    started = time.perf_counter()
    for value, unit, marker in values:
        to_canonical(value, unit, marker)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # tracemalloc slows allocation-heavy code; time once more without it.
    started = time.perf_counter()
    for value, unit, marker in values:
        to_canonical(value, unit, marker)
    untraced = time.perf_counter() - started

    print(
        f"first conversion (loads dictionary, pint registry, UCUM parser): {cold * 1000:.0f} ms, "
        f"peak {cold_peak / 2**20:.1f} MiB"
    )
    print(f"{n} values over {pair_count} (marker, unit) pairs")
    print(f"  {n / untraced:,.0f} values/s ({untraced * 1e6 / n:.2f} us per value)")
    print(f"  {n / elapsed:,.0f} values/s under tracemalloc, peak {peak / 1024:.0f} KiB once caches are warm")


if __name__ == "__main__":
    main()
