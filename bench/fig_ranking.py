"""Ranking scale: vastjob's client-side filters and ranking (`vastjob.vast.query.select`) over 1k, 10k
and 100k offers, side by side with the first approach (an object per offer, then a sort), in the same
run: time, the ratio, peak memory, and whether the time per offer stays flat (linear scaling)."""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bench.harness import ROOT, Figure, Timing, seconds

if TYPE_CHECKING:
    from vastjob.spec.model import OfferSpec
    from vastjob.vast.query import Candidate

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


def select_eagerly(offers: Iterable[Mapping[str, Any]], spec: OfferSpec, disk_gb: float) -> list[Candidate]:
    """The first approach, the baseline: every offer parsed into an `Offer` and priced as a `Candidate`,
    then the kept ones sorted by a key tuple; the same filters and the same order as `select`."""
    from vastjob.vast.query import Offer, price

    regions = {r.upper() for r in spec.regions}
    kept = []
    for raw in offers:
        cand = price(Offer.from_api(raw), spec, disk_gb)
        if regions and cand.offer.country not in regions:
            continue
        if cand.price_per_hour > spec.max_price_per_hour + 1e-9:
            continue
        kept.append(cand)
    return sorted(kept, key=lambda c: eager_key(c, spec.order))


def eager_key(cand: Candidate, order: Iterable[str]) -> tuple[float, ...]:
    """The baseline's rank key: the order's values (larger is better but price), then price, then id."""
    o = cand.offer
    values = {
        "price": cand.price_per_hour,
        "dlperf_per_dollar": -o.dlperf_per_dphtotal,
        "reliability": -o.reliability,
        "inet_down": -o.inet_down,
    }
    return (*(values[k] for k in order if k in values), cand.price_per_hour, float(o.id))


def time_pair(
    calls: Mapping[str, Callable[[], object]], *, repeat: int, warmup: int = 1
) -> dict[str, Timing]:
    """Time in-process calls `repeat` times each, interleaved (A B A B ...) so that load drifting over
    the run affects both alike; warm-up calls are not counted."""
    for _ in range(warmup):
        for func in calls.values():
            func()
    runs: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(repeat):
        for label, func in calls.items():
            start = time.perf_counter()
            func()
            runs[label].append(time.perf_counter() - start)
    return {label: Timing(label, tuple(r)) for label, r in runs.items()}


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
    """Time `select` and the first approach on each market size; check both rank alike."""
    from vastjob.spec.load import load_job
    from vastjob.vast.query import select

    job = load_job(JOB)
    offer, disk = job.offer, job.instance.disk_gb
    results: list[tuple[int, Timing, Timing, int, int, bool]] = []
    hot: list[str] = []
    for n in sizes:
        offers = market(n, disk)

        def rank(offers: list[dict[str, Any]] = offers) -> object:
            return select(offers, offer, disk)

        def rank_eagerly(offers: list[dict[str, Any]] = offers) -> object:
            return select_eagerly(offers, offer, disk)

        ranked = select(offers, offer, disk)
        same = [c.offer.id for c in ranked] == [c.offer.id for c in select_eagerly(offers, offer, disk)]
        kept = len(ranked)
        del ranked
        # Small sizes take milliseconds: more runs there keep their medians as steady as the large ones'.
        runs = repeat * min(10, max(1, 10_000 // n))
        timings = time_pair({"select": rank, "first approach": rank_eagerly}, repeat=runs)
        results.append((n, timings["select"], timings["first approach"], peak_bytes(rank), kept, same))
        if n == max(sizes):
            hot = profile(rank)
        del offers, rank, rank_eagerly
    base_n, base_t = results[0][0], results[0][1].median
    per_base = base_t / base_n
    rows = []
    for n, timing, eager, peak, kept, same in results:
        per = timing.median / n
        rows.append(
            [
                n,
                kept,
                seconds(timing.median),
                seconds(eager.median),
                f"{eager.median / timing.median:.2f}x",
                f"{per * 1e6:.2f}",
                f"{per / per_base:.2f}x",
                f"{peak / 1e6:.1f}",
                "yes" if same else "NO",
            ]
        )
    largest_n, largest, largest_eager, _, _, _ = results[-1]
    growth = (largest.median / largest_n) / per_base
    # The exponent k of time ~ n^k, fitted over all sizes (least squares on logs): 1 is linear, 2 quadratic.
    # A sort (n log n) from 1k to 100k alone gives about 1.12, so up to 1.15 counts as linear here.
    exponent = fit_exponent([(n, t.median) for n, t, _, _, _, _ in results])
    linear = exponent <= MAX_EXPONENT
    speedup = largest_eager.median / largest.median
    same_everywhere = all(same for *_, same in results)
    # A run without the 100k size (a quick run) judges the time target on a linear extrapolation.
    at_100k = largest.median if largest_n >= 100_000 else largest.median / largest_n * 100_000
    how = "measured" if largest_n >= 100_000 else "extrapolated"
    return Figure(
        key="ranking",
        title=f"Ranking scale (select: filter, price, rank; median of at least {repeat} runs each)",
        baseline="the first approach, in the same run: an Offer and a Candidate per offer, then a sort",
        target=f"100k offers <= {TARGET_S * 1000:.0f} ms, ranked as the first approach ranks them",
        columns=[
            "offers",
            "kept",
            "select",
            "first approach",
            "speed-up",
            "us/offer",
            "per-offer vs smallest",
            "peak MB",
            "same order",
        ],
        rows=rows,
        headline=f"100000 offers in {seconds(at_100k)} ({how}; target {TARGET_S * 1000:.0f} ms), "
        f"{speedup:.2f}x faster than the first approach ({seconds(largest_eager.median)} at {largest_n}); "
        f"same order: {'yes' if same_everywhere else 'NO'}; time ~ n^{exponent:.2f}",
        met=same_everywhere and at_100k <= TARGET_S,
        timings=[t for _, sel, eager, _, _, _ in results for t in (sel, eager)],
        extra={
            "speedup": speedup,
            "same_order": same_everywhere,
            "growth": growth,
            "exponent": exponent,
            "linear": linear,
            "at_100k_s": at_100k,
            "at_100k": how,
            "first_approach_s": {str(n): eager.median for n, _, eager, _, _, _ in results},
            "peak_bytes": {str(n): p for n, _, _, p, _, _ in results},
            "profile": hot,
        },
        notes=[
            f"time per offer at {largest_n} is {growth:.2f}x the {base_n}-offer run's: "
            f"time ~ n^{exponent:.2f} ({'linear' if linear else 'not linear'}; a sort alone gives 1.12)",
            f"profile of one select at {largest_n} offers (own time): " + "; ".join(hot),
        ],
    )
