"""CLI cold start: `vastjob render jobs/burgers512.yaml` (load, validate, compile, print) as a fresh process,
against `python -c pass`, the floor any Python command pays."""

from __future__ import annotations

import sys

from bench.harness import BIN, ROOT, Figure, time_commands

JOB = ROOT / "jobs" / "burgers512.yaml"
TARGET_MS = 100.0
LOADER = "yaml, vastjob.spec.load"


def measure(*, repeat: int = 15) -> Figure:
    """Time the commands interleaved, `repeat` runs each after one warm-up."""
    vastjob = str(BIN / "vastjob")
    timings = time_commands(
        {
            "python -c pass": [sys.executable, "-c", "pass"],
            # Where the time goes: the imports render needs, added one layer at a time.
            "+ import click": [sys.executable, "-c", "import click"],
            "+ import yaml, spec loader": [sys.executable, "-c", f"import click, {LOADER}"],
            "+ import compiler": [sys.executable, "-c", f"import click, {LOADER}, vastjob.compile"],
            "vastjob --version": [vastjob, "--version"],
            "vastjob validate JOB": [vastjob, "validate", str(JOB)],
            "vastjob render JOB": [vastjob, "render", str(JOB)],
        },
        repeat=repeat,
        cwd=ROOT,
    )
    base = timings["python -c pass"].median
    rows = [
        [
            t.label,
            f"{t.median * 1000:.1f}",
            f"{min(t.runs) * 1000:.1f}",
            f"{(t.median - base) * 1000:+.1f}",
            f"{t.median / base:.2f}x",
        ]
        for t in timings.values()
    ]
    render = timings["vastjob render JOB"].median
    above_ms = (render - base) * 1000
    return Figure(
        key="coldstart",
        title=f"CLI cold start (median of {repeat} runs each)",
        baseline="python -c pass (the same interpreter, bare)",
        target=f"vastjob render jobs/burgers512.yaml <= {TARGET_MS:.0f} ms above bare Python",
        columns=["command", "median ms", "min ms", "above python ms", "ratio"],
        rows=rows,
        headline=f"render takes {render * 1000:.1f} ms, {above_ms:.1f} ms above bare Python "
        f"({base * 1000:.1f} ms), {render / base:.2f}x",
        met=above_ms <= TARGET_MS,
        timings=list(timings.values()),
        extra={"above_python_ms": above_ms, "ratio": render / base},
    )
