"""The shared harness: repeated timings, medians, ratios against a baseline measured in the same run,
a printed table per figure, and the results written as JSON under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent  # the venv's bin folder: vastjob, vastai, check-jsonschema live here


@dataclass(frozen=True)
class Timing:
    """Repeated wall-clock measurements of one thing, in seconds."""

    label: str
    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median run: the figure's headline, robust to a run disturbed by other load."""
        return statistics.median(self.runs)

    def to_json(self) -> dict[str, Any]:
        """Runs and their summary."""
        return {
            "label": self.label,
            "median_s": self.median,
            "min_s": min(self.runs),
            "max_s": max(self.runs),
            "runs_s": list(self.runs),
        }


@dataclass
class Figure:
    """One benchmark's outcome: a table, the headline against its baseline, and whether the target holds."""

    key: str
    title: str
    baseline: str  # what the measurement is compared with, in words
    target: str  # the goal, in words
    columns: list[str]
    rows: list[list[Any]]
    headline: str  # the measured ratio (or value) against the baseline, one line
    met: bool | None  # None when the figure could not be measured
    timings: list[Timing] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # printed under the table: breakdowns, caveats

    def to_json(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            "key": self.key,
            "title": self.title,
            "baseline": self.baseline,
            "target": self.target,
            "headline": self.headline,
            "met": self.met,
            "columns": self.columns,
            "rows": self.rows,
            "timings": [t.to_json() for t in self.timings],
            "extra": self.extra,
            "notes": self.notes,
        }


class CommandFailed(RuntimeError):
    """A benchmarked command exited with an unexpected code."""


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
    timeout: float = 600,
) -> float:
    """Run a command once (output discarded) and return its wall time; CommandFailed on an unexpected code."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise CommandFailed(f"{' '.join(argv[:4])}... exited {proc.returncode}: {tail}")
    return elapsed


def time_commands(
    commands: Mapping[str, Sequence[str]],
    *,
    repeat: int,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
) -> dict[str, Timing]:
    """Time each command `repeat` times, interleaved (A B A B ...) so that load drifting over the run
    affects every command alike; warm-up runs fill the OS page cache and are not counted."""
    for _ in range(warmup):
        for argv in commands.values():
            run_command(argv, env=env, cwd=cwd, ok=ok)
    runs: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, argv in commands.items():
            runs[label].append(run_command(argv, env=env, cwd=cwd, ok=ok))
    return {label: Timing(label, tuple(r)) for label, r in runs.items()}


def time_call(label: str, func: Callable[[], object], *, repeat: int, warmup: int = 1) -> Timing:
    """Time an in-process call `repeat` times after `warmup` uncounted calls."""
    for _ in range(warmup):
        func()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return Timing(label, tuple(runs))


def seconds(value: float) -> str:
    """A duration for people: ms under a second, else seconds."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def cell(value: Any) -> str:
    """One table cell as text."""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def format_figure(fig: Figure) -> str:
    """The figure as a plain-text table with its baseline, headline and verdict."""
    table = [fig.columns, *[[cell(v) for v in row] for row in fig.rows]]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(fig.columns))]
    lines = [f"== {fig.title}", f"   baseline: {fig.baseline}"]
    for n, row in enumerate(table):
        lines.append("   " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("   " + "  ".join("-" * w for w in widths))
    lines += [f"   note: {note}" for note in fig.notes]
    verdict = {True: "met", False: "MISSED", None: "not measured"}[fig.met]
    lines += [f"   result: {fig.headline}", f"   target: {fig.target} -> {verdict}"]
    return "\n".join(lines)


def byte_compile() -> bool:
    """Byte-compile vastjob's sources, as installing a wheel does: with PYTHONDONTWRITEBYTECODE set (or a
    fresh checkout) every command would otherwise compile its modules from source at each start, which
    the tools compared against, installed by pip, never do. True when all compiled."""
    import compileall

    return bool(compileall.compile_dir(ROOT / "vastjob", quiet=1))


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and how busy it was."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load],
        "dont_write_bytecode_env": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    }


def save(figures: Sequence[Figure], info: Mapping[str, Any], folder: Path = RESULTS) -> Path:
    """Write the run as JSON (timestamped, plus latest.json); return the timestamped file."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    data = {
        "date": now.isoformat(timespec="seconds"),
        **info,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "figures": [f.to_json() for f in figures],
    }
    text = json.dumps(data, indent=2) + "\n"
    target = folder / f"bench-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    target.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return target
