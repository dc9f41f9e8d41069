"""`python -m bench.report [RESULTS.json]`: a saved run as Markdown tables, for BENCHMARKS.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, cell

VERDICT = {True: "met", False: "**missed**", None: "not measured"}


def markdown(run: dict[str, Any]) -> str:
    """A summary table of every figure, then each figure's own table and notes."""
    load = f"{run['loadavg_start']} at the start, {run['loadavg_end']} at the end"
    out = [
        f"Run of {run['date']}: Python {run['python']} on {run['platform']}, {run['cpus']} CPUs; "
        f"load average (1, 5, 15 min) {load}; {run['total_s']} s in all.",
        "",
        "| figure | baseline | target | result | |",
        "|---|---|---|---|---|",
    ]
    figures = run["figures"]
    for fig in figures:
        cells = [fig["key"], fig["baseline"], fig["target"], fig["headline"], VERDICT[fig["met"]]]
        out.append("| " + " | ".join(cells) + " |")
    for fig in figures:
        out += ["", f"### {fig['title']}", "", f"Baseline: {fig['baseline']}. Target: {fig['target']}.", ""]
        out.append("| " + " | ".join(fig["columns"]) + " |")
        out.append("|" + "---|" * len(fig["columns"]))
        out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in fig["rows"]]
        out += ["", f"Result: {fig['headline']} ({VERDICT[fig['met']]})."]
        out += [f"- {note}" for note in fig.get("notes", [])]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown of the given results file (default: the latest run)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else RESULTS / "latest.json"
    print(markdown(json.loads(path.read_text(encoding="utf-8"))), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
