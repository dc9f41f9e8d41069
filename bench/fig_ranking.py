"""Ranking scale: vastjob's client-side filters and ranking (`vastjob.vast.query.select`) over 1k, 10k
and 100k offers: time, peak memory, and whether the time per offer stays flat (linear scaling)."""

from __future__ import annotations

import gc
import math
import tracemalloc
from collections.abc import Sequence
from typing import Any

from bench.harness import ROOT, Figure, Timing, seconds, time_call

JOB = ROOT / "jobs" / "burgers512.yaml"
UNIQUE = 5000  # distinct generated offers; bigger markets repeat them under new ids (generation is slow)
TARGET_S = 0.200
MAX_EXPONENT = 1.15


def market(n: int, disk_gb: float, seed: int = 0) -> list[dict[str, Any]]:
    """`n` offers as a search answers them (priced for `disk_gb` of storage): generated, then repeated
    with fresh ids past UNIQUE."""
    from vastjob.emulator import generate_offers
    from vastjob.emulator.query import priced

    unique = [priced(o, disk_gb, False) for o in generate_offers(seed, min(n, UNIQUE))]
    return [
        {**unique[i % len(unique)], "id": 10_000_000 + i} if i >= len(unique) else unique[i] for i in range(n)
    ]


def peak_bytes(func: Any) -> int:
    """The peak memory a call allocates beyond what existed before it (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        func()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def profile(func: Any, top: int = 5) -> list[str]:
    """The functions where one call spends its own time (cProfile, by internal time), as short lines."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.runcall(func)
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
    # Built-ins come as ("~", 0, "<method 'get' of 'dict' objects>"), generated code as "<string>":
    # shown without angle brackets, which Markdown would take for HTML.
    lines = []
    for (path, line, func_name), (_, _, own, _, _) in rows:
        where = "built-in" if path == "~" else f"{path.rsplit('/', 1)[-1].strip('<>')}:{line}"
        lines.append(f"{func_name.strip('<>')} ({where}) {own / total:.0%}")
    return lines


def fit_exponent(points: Sequence[tuple[int, float]]) -> float:
    """The slope of log(time) against log(size): k in time ~ size^k (1.0 for a single point)."""
    if len({n for n, _ in points}) < 2:
        return 1.0
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def measure(*, sizes: Sequence[int] = (1_000, 10_000, 100_000), repeat: int = 5) -> Figure:
    """Time `select` on each market size; the smallest size's time per offer is the linear baseline."""
    from vastjob.spec.load import load_job
    from vastjob.vast.query import select

    job = load_job(JOB)
    offer, disk = job.offer, job.instance.disk_gb
    results: list[tuple[int, Timing, int, int]] = []
    hot: list[str] = []
    for n in sizes:
        offers = market(n, disk)

        def rank(offers: list[dict[str, Any]] = offers) -> object:
            return select(offers, offer, disk)

        kept = len(select(offers, offer, disk))
        # Small sizes take milliseconds: more runs there keep their medians as steady as the large ones'.
        runs = repeat * min(10, max(1, 10_000 // n))
        timing = time_call(f"{n} offers", rank, repeat=runs)
        results.append((n, timing, peak_bytes(rank), kept))
        if n == max(sizes):
            hot = profile(rank)
        del offers, rank
    base_n, base_t = results[0][0], results[0][1].median
    per_base = base_t / base_n
    rows = []
    for n, timing, peak, kept in results:
        per = timing.median / n
        rows.append(
            [
                n,
                kept,
                seconds(timing.median),
                f"{per * 1e6:.2f}",
                f"{per / per_base:.2f}x",
                f"{peak / 1e6:.1f}",
            ]
        )
    largest_n, largest, _, _ = results[-1]
    growth = (largest.median / largest_n) / per_base
    # The exponent k of time ~ n^k, fitted over all sizes (least squares on logs): 1 is linear, 2 quadratic.
    # A sort (n log n) from 1k to 100k alone gives about 1.12, so up to 1.15 counts as linear here.
    exponent = fit_exponent([(n, t.median) for n, t, _, _ in results])
    linear = exponent <= MAX_EXPONENT
    # A run without the 100k size (a quick run) judges the time target on a linear extrapolation.
    at_100k = largest.median if largest_n >= 100_000 else largest.median / largest_n * 100_000
    how = "measured" if largest_n >= 100_000 else "extrapolated"
    return Figure(
        key="ranking",
        title=f"Ranking scale (select: parse, price, filter, sort; median of at least {repeat} runs)",
        baseline=f"the {base_n}-offer run's time per offer (a linear extrapolation)",
        target=f"linear (time ~ n^k, k <= {MAX_EXPONENT}); 100k offers <= {TARGET_S * 1000:.0f} ms",
        columns=["offers", "kept", "median", "us/offer", "per-offer vs smallest", "peak MB"],
        rows=rows,
        headline=f"100000 offers in {seconds(at_100k)} ({how}); time per offer at {largest_n} is "
        f"{growth:.2f}x the {base_n}-offer run's: time ~ n^{exponent:.2f} "
        f"({'linear' if linear else 'not linear'})",
        met=linear and at_100k <= TARGET_S,
        timings=[t for _, t, _, _ in results],
        extra={
            "growth": growth,
            "exponent": exponent,
            "at_100k_s": at_100k,
            "at_100k": how,
            "peak_bytes": {str(n): p for n, _, p, _ in results},
            "profile": hot,
        },
        notes=[f"profile of one run at {largest_n} offers (own time): " + "; ".join(hot)],
    )
