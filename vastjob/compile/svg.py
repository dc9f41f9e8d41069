"""The step graph as an SVG picture, drawn by Graphviz's `dot` when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from vastjob.errors import UserError

# Runs `dot` on DOT text and returns the SVG; tests hand in the real one or a missing program.
DotRunner = Callable[[str, str], str]


def run_dot(program: str, dot_text: str) -> str:
    """Run Graphviz's `program -Tsvg` on `dot_text`; its error text becomes a UserError."""
    proc = subprocess.run(
        [program, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise UserError(f"graphviz's dot failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    return proc.stdout


def dot_to_svg(
    dot_text: str, *, which: Callable[[str], str | None] = shutil.which, runner: DotRunner = run_dot
) -> str:
    """The SVG of a DOT graph, or a UserError saying how to get one when `dot` is not on PATH."""
    program = which("dot")
    if program is None:
        raise UserError(
            "--graph svg needs Graphviz's `dot` on PATH (apt-get install graphviz, brew install graphviz); "
            "or print the graph with --graph dot and draw it elsewhere"
        )
    return runner(program, dot_text)
