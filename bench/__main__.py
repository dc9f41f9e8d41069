"""`python -m bench` (`make bench`): run every figure, print its table, and save the run as JSON.

Benchmarks report; a missed target is printed, never an error. Only a figure that could not run at all
makes the exit code non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, Figure, byte_compile, format_figure, machine, save

# key -> (module, arguments of the full run, arguments of --quick); cheapest first.
FIGURES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "bootstrap": ("bench.fig_bootstrap", {}, {}),
    "coldstart": ("bench.fig_coldstart", {"repeat": 15}, {"repeat": 3}),
    "validate": ("bench.fig_validate", {"count": 1000, "repeat": 5}, {"count": 100, "repeat": 1}),
    "offers": ("bench.fig_offers", {"repeat": 10}, {"repeat": 2}),
    "ranking": ("bench.fig_ranking", {"repeat": 5}, {"sizes": (1_000, 10_000), "repeat": 2}),
    "restart": ("bench.fig_restart", {"repeat": 10}, {"repeat": 3, "scale": 0.1}),
    "boot": ("bench.fig_boot", {"repeat": 3}, {"repeat": 1, "scale": 0.1}),
    "capacity": ("bench.fig_capacity", {}, {"top": 400}),
    "reap": ("bench.fig_reap", {"interval": 1.0}, {"interval": 0.5}),
}


def run_figure(key: str, quick: bool) -> Figure:
    """Measure one figure; a crash becomes an unmeasured figure carrying the error."""
    module, full, small = FIGURES[key]
    try:
        measure = importlib.import_module(module).measure
        figure: Figure = measure(**(small if quick else full))
        return figure
    except Exception as err:  # a broken figure must not hide the others
        traceback.print_exc()
        return Figure(
            key=key,
            title=key,
            baseline="-",
            target="-",
            columns=["error"],
            rows=[[repr(err)]],
            headline=f"could not be measured: {err!r}",
            met=None,
        )


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the figures in order, print and save them."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", metavar="KEY,...", help=f"run only these figures: {', '.join(FIGURES)}")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few runs: a smoke run, not numbers"
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not byte-compile vastjob first (measure the tree as it is)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    args = parser.parse_args(argv)
    keys = list(FIGURES) if not args.only else [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    info = {**machine(), "quick": args.quick, "byte_compiled": not args.no_compile and byte_compile()}
    print(
        f"vastjob benchmarks: python {info['python']}, {info['cpus']} CPUs, "
        f"load average {info['loadavg_start']}{' (quick run)' if args.quick else ''}\n",
        flush=True,
    )
    figures = []
    started = time.perf_counter()
    for key in keys:
        t0 = time.perf_counter()
        figure = run_figure(key, args.quick)
        figures.append(figure)
        print(format_figure(figure), f"\n   ({time.perf_counter() - t0:.1f} s)\n", sep="", flush=True)
    info["total_s"] = round(time.perf_counter() - started, 1)
    path = save(figures, info, args.out)
    print("summary:")
    for fig in figures:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[fig.met]
        print(f"  {fig.key:<10} {verdict:<12} {fig.headline}")
    print(f"\n{len(figures)} figures in {info['total_s']} s; results in {path}")
    return 0 if all(f.met is not None for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
